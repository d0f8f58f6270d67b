/**
 * SF creation and deletion by the representor provider (ADR 0056) with the FAKE in-process devlink
 * and an in-memory record store standing in for the OVS DB (the real store is exercised by the
 * sandbox test). The BlueField-2 fixture is hand-written.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlugRequest } from '../../plug/index.js';
import { FakeDevlinkSpawn } from '../../../test/fixtures/devlink/fake-devlink-spawn.js';
import { RepresentorProvider } from './provider.js';
import { sfAddArgs, type SfIntentStore, type SfRecord } from './scalable-functions.js';

const PORTS = fileURLToPath(
  new URL('../../../test/fixtures/devlink/bluefield2-dpu.port-show.json', import.meta.url),
);
const PF_MAC = '08:c0:eb:c4:2a:10';
const SF7 = 'pci/0000:03:00.0/c1/pf0/sf7';
const SF7_HANDLE = 'pci/0000:03:00.0/32775';
const LSP_MAC = 'fa:16:3e:00:00:07';

class MemoryStore implements SfIntentStore {
  records = new Map<string, string>();
  readonly log: string[];
  constructor(log: string[]) {
    this.log = log;
  }
  list(): readonly SfRecord[] {
    return [...this.records].map(([id, logicalPort]) => ({ id, logicalPort }));
  }
  record(record: SfRecord): Promise<void> {
    this.log.push(`record ${record.id}=${record.logicalPort}`);
    this.records.set(record.id, record.logicalPort);
    return Promise.resolve();
  }
  forget(id: string): Promise<void> {
    this.log.push(`forget ${id}`);
    this.records.delete(id);
    return Promise.resolve();
  }
}

function sfEntry(fn: Record<string, string>): Record<string, unknown> {
  return {
    type: 'eth',
    netdev: 'en3f0c1pf0sf7',
    flavour: 'pcisf',
    controller: 1,
    pfnum: 0,
    sfnum: 7,
    external: true,
    splittable: false,
    function: { hw_addr: '00:00:00:00:00:00', state: 'inactive', opstate: 'detached', ...fn },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((resolve) => process.nextTick(resolve));
}

const providers: RepresentorProvider[] = [];
afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
});

function setup(now: () => number = Date.now): {
  devlink: FakeDevlinkSpawn;
  store: MemoryStore;
  log: string[];
  provider: RepresentorProvider;
} {
  const log: string[] = [];
  const store = new MemoryStore(log);
  const devlink = new FakeDevlinkSpawn(PORTS);
  const entry = { ...sfEntry({}) };
  devlink.other = (words) => {
    log.push(`devlink ${words.join(' ')}`);
    if (words[1] === 'add') {
      devlink.lastMonitor.emitOutput(`{"command":"new","port":{"${SF7_HANDLE}":${JSON.stringify(entry)}}}\n`);
      return { code: 0 };
    }
    if (words[1] === 'del') {
      devlink.lastMonitor.emitOutput(`{"command":"del","port":{"${SF7_HANDLE}":${JSON.stringify(entry)}}}\n`);
      return { code: 0 };
    }
    return { code: 1, stderr: 'unknown' };
  };
  devlink.functionSet = (handle, value, attribute) => {
    log.push(`devlink port function set ${handle} ${attribute} ${value}`);
    return { code: 0 };
  };
  const provider = new RepresentorProvider({
    spawn: devlink.spawn,
    sfIntents: store,
    now,
    sfCleanupGraceMs: 10_000,
  });
  providers.push(provider);
  return { devlink, store, log, provider };
}

function request(operation: 'create' | 'remove', logicalPort = 'vm-sf'): PlugRequest {
  return {
    operation,
    logicalPort,
    options: {
      'vif-plug-type': 'representor',
      'vif-plug:representor:pf-mac': PF_MAC,
      'vif-plug:representor:sf-num': '7',
      'vif-plug:representor:sf-add': 'true',
    },
    mac: LSP_MAC,
    ...(operation === 'remove' ? { existing: { name: 'en3f0c1pf0sf7', type: '', options: {} } } : {}),
  };
}

describe('scalable functions', () => {
  it('builds devlink port add in its own words, with the controller only when not 0', () => {
    expect(sfAddArgs({ device: 'pci/0000:03:00.0', controller: 1, pfnum: 0 }, 88)).toEqual(
      'port add pci/0000:03:00.0 flavour pcisf pfnum 0 sfnum 88 controller 1'.split(' '),
    );
    expect(sfAddArgs({ device: 'pci/0000:03:00.0', controller: 0, pfnum: 1 }, 4).join(' ')).toBe(
      'port add pci/0000:03:00.0 flavour pcisf pfnum 1 sfnum 4',
    );
  });

  it('records, adds, sets hw_addr, activates, then plugs; on unplug deactivates, deletes, forgets', async () => {
    const { log, provider, store } = setup();
    await provider.init();
    expect(provider.prepare(request('create'))).toMatchObject({ kind: 'notNow', code: 'CreatingSf' });
    await settle();
    expect(provider.prepare(request('create'))).toMatchObject({ kind: 'notNow', code: 'ProgrammingMac' });
    await settle();
    expect(provider.prepare(request('create'))).toMatchObject({
      kind: 'notNow',
      code: 'ConfiguringPortFunction',
    });
    await settle();
    expect(provider.prepare(request('create'))).toEqual({
      kind: 'ready',
      name: 'en3f0c1pf0sf7',
      options: {},
    });
    expect(log).toEqual([
      `record ${SF7}=vm-sf`,
      'devlink port add pci/0000:03:00.0 flavour pcisf pfnum 0 sfnum 7 controller 1',
      `devlink port function set ${SF7_HANDLE} hw_addr ${LSP_MAC}`,
      `devlink port function set ${SF7_HANDLE} state active`,
    ]);
    const item = provider.inventory().items.find((i) => i.name === 'en3f0c1pf0sf7');
    expect(item?.details).toMatchObject({
      sfNum: 7,
      state: 'active',
      createdFor: 'vm-sf',
    });

    log.length = 0;
    const remove = request('remove');
    const answer = provider.prepare(remove);
    if (answer.kind !== 'ready') throw new Error(answer.reason);
    // A replug removing an older name of the same port keeps the SF.
    provider.finish(remove, { ...answer, name: 'eth9' });
    await settle();
    expect(log).toEqual([]);
    provider.finish(remove, answer);
    await settle();
    expect(log).toEqual([
      `devlink port function set ${SF7_HANDLE} state inactive`,
      `devlink port del ${SF7_HANDLE}`,
      `forget ${SF7}`,
    ]);
    expect(store.records.size).toBe(0);
  });

  it('never deletes an SF it did not create, and refuses an SF recorded for another port', async () => {
    const { log, provider, store } = setup();
    await provider.init();
    store.records.set(SF7, 'someone-else');
    expect(provider.prepare(request('create'))).toEqual({
      kind: 'notNow',
      code: 'SfOwnedByOtherPort',
      reason: `SF 7 under PF ${PF_MAC} (pf0hpf, controller 1, pci/0000:03:00.0 pfnum 0) was created for logical port "someone-else"`,
    });
    store.records.clear();
    provider.finish(request('remove', 'vm-other'), { kind: 'ready', name: 'en3f0c1pf0sf7', options: {} });
    await settle();
    expect(log).toEqual([]);
  });

  it('a record nobody asks about is resolved after the grace, only while other ports are planned', async () => {
    let now = 1_000_000;
    const { log, provider, store } = setup(() => now);
    await provider.init();
    store.records.set(SF7, 'gone-port');
    now += 20_000;
    provider.run();
    await settle();
    expect(log).toEqual([]); // no planning activity: nothing is touched
    provider.prepare({
      operation: 'create',
      logicalPort: 'other',
      options: { 'vif-plug-type': 'representor' },
    });
    provider.run();
    await settle();
    expect(log).toEqual([`forget ${SF7}`]); // crash between record and port add: no SF, record dropped
  });
});
