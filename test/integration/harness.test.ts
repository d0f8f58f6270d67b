import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asStringMap,
  createPki,
  defaultRegistry,
  getPortBinding,
  interfacesForLogicalPort,
  lspAdd,
  portBindingChassisName,
  ProcessStartError,
  processesMentioning,
  startOvnCentral,
  startOvnController,
  startOvsdbServer,
  startVswitchd,
  startRaftCluster,
  startOvsdbRelay,
  startSandbox,
  SupervisedProcess,
  toolEnv,
  useHarness,
  useSandbox,
  VSWITCH_SCHEMA,
  OVN_SB_SCHEMA,
  waitPortBindingUp,
  waitUntil,
  type OvsdbServer,
  type Pki,
  type RemoteKind,
} from '../harness/index.js';

const processesUnder = processesMentioning;

/** Inserts into a root table (non-root rows nobody references are garbage-collected). */
const markerInsert = (marker: string): object => ({
  op: 'insert',
  table: 'Open_vSwitch',
  row: { external_ids: ['map', [['marker', marker]]] },
});

describe('process supervisor', () => {
  it('fails a start with the exit status and the tail of the output when the process exits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'h-proc-'));
    try {
      const proc = new SupervisedProcess(
        {
          name: 'dies',
          command: '/bin/sh',
          args: ['-c', 'echo "bad flag --frobnicate" >&2; exit 3'],
          dir,
          env: toolEnv(dir),
          ready: () => false,
        },
        defaultRegistry(),
      );
      const error: unknown = await proc.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProcessStartError);
      expect(String(error)).toMatch(/exit code 3/);
      expect(String(error)).toMatch(/bad flag --frobnicate/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('escalates to SIGKILL when SIGTERM is ignored, and pause/resume freeze and thaw', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'h-proc-'));
    try {
      const proc = new SupervisedProcess(
        {
          name: 'stubborn',
          command: '/bin/sh',
          // exec: one process that never forks (a shell caught mid-fork by SIGSTOP shows state D, not T);
          // the ignored SIGTERM survives exec, and the argv names the directory for the leak check.
          args: ['-c', `trap "" TERM; echo ready; exec tail -f ${join(dir, 'stubborn.out')}`],
          dir,
          env: toolEnv(dir),
          ready: () => readFileSync(join(dir, 'stubborn.out'), 'utf8').includes('ready'),
        },
        defaultRegistry(),
      );
      await proc.start();
      const pid = proc.pid;
      proc.pause();
      const state = (): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] ?? '';
      await waitUntil(() => state() === 'T', { description: 'stopped state' });
      proc.resume();
      await waitUntil(() => state() !== 'T', { description: 'running state' });
      const started = Date.now();
      await proc.stop(300);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(proc.lastExit?.signal).toBe('SIGKILL');
      expect(await processesUnder(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('standalone ovsdb-server', () => {
  it('serves unix and tcp remotes, keeps data and ports across kill -9 + restart, and leaves nothing behind', async () => {
    const server = await startOvsdbServer({ schema: VSWITCH_SCHEMA, remotes: ['punix', 'ptcp'] });
    const dir = server.dir;
    try {
      expect(server.unixRemote).toBe(`unix:${dir}/db.sock`);
      expect(server.tcpRemote).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
      expect(server.dbName).toBe('Open_vSwitch');
      await server.transact([markerInsert('br-a')]);
      const tcpRemote = server.tcpRemote ?? '';
      const viaTcp = await server.client('dump', '--format=json', tcpRemote, 'Open_vSwitch', 'Open_vSwitch');
      expect(viaTcp).toContain('br-a');
      const [dumped] = await server.dump('Open_vSwitch');
      expect(dumped?.caption).toBe('Open_vSwitch table');
      expect(dumped?.data).toHaveLength(1);

      const oldPid = server.process.pid;
      await server.kill9();
      expect(server.process.running).toBe(false);
      await server.restart();
      expect(server.process.pid).not.toBe(oldPid);
      const rows = await server.select('Open_vSwitch');
      expect(rows.map((r) => r['external_ids'])).toEqual([['map', [['marker', 'br-a']]]]);
      const afterRestart = await server.client(
        'dump',
        '--format=json',
        tcpRemote,
        'Open_vSwitch',
        'Open_vSwitch',
      );
      expect(afterRestart).toContain('br-a');
      expect(await server.appctl('version')).toMatch(/ovsdb-server/);
    } finally {
      await server.stop();
    }
    expect(await processesUnder(dir)).toEqual([]);
  });

  it('rejects a failed operation with its index and the server error', async () => {
    const server = await startOvsdbServer({ schema: VSWITCH_SCHEMA, remotes: ['punix'] });
    try {
      expect(server.tcpRemote).toBeUndefined();
      await expect(server.transact([{ op: 'insert', table: 'NoSuchTable', row: {} }])).rejects.toThrow(
        /operation 0.*NoSuchTable|NoSuchTable/,
      );
    } finally {
      await server.stop();
    }
  });
});

describe('bad input', () => {
  it('names an unknown remote kind and a missing schema file', async () => {
    const kinds: string[] = ['punix', 'pudp'];
    await expect(
      startOvsdbServer({ schema: VSWITCH_SCHEMA, remotes: kinds as RemoteKind[] }),
    ).rejects.toThrow('unknown remote kind "pudp"');
    await expect(startOvsdbServer({ schema: '/nonexistent/x.ovsschema' })).rejects.toThrow(
      '/nonexistent/x.ovsschema',
    );
    await expect(startSandbox({ chassis: ['hv1', 'hv1'] })).rejects.toThrow('duplicate chassis name "hv1"');
    expect(defaultRegistry().liveProcesses()).toEqual([]);
  });
});

describe('ssl ovsdb-server with OVS-PKI certificates', () => {
  let pkiDir = '';
  let pki: Pki;
  beforeAll(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), 'h-pki-'));
    pki = await createPki(pkiDir);
  });
  afterAll(async () => {
    await rm(pkiDir, { recursive: true, force: true });
  });

  it('accepts a client with a CA-signed certificate and refuses one without', async () => {
    const server = await startOvsdbServer({ schema: VSWITCH_SCHEMA, remotes: ['punix', 'pssl'], pki });
    try {
      const sslRemote = server.sslRemote ?? '';
      expect(sslRemote).toMatch(/^ssl:127\.0\.0\.1:\d+$/);
      expect(await server.client('list-dbs', sslRemote)).toContain('Open_vSwitch');
      const port = Number(sslRemote.split(':')[2]);
      const ca = readFileSync(pki.caCert);
      // OVS-PKI certificates carry no host name: verify the chain only.
      const handshake = (withClientCert: boolean): Promise<string> =>
        new Promise((resolve) => {
          const socket = tlsConnect({
            host: '127.0.0.1',
            port,
            ca,
            checkServerIdentity: () => undefined,
            ...(withClientCert
              ? { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) }
              : {}),
          });
          socket.once('secureConnect', () => {
            socket.write('{"id":1,"method":"list_dbs","params":[]}');
          });
          socket.once('data', (data: Buffer) => {
            socket.destroy();
            resolve(`answered ${data.toString()}`);
          });
          socket.once('error', (error: Error) => resolve(`error ${error.message}`));
          socket.once('close', () => resolve('closed'));
        });
      expect(await handshake(true)).toMatch(/^answered .*Open_vSwitch/);
      expect(await handshake(false)).toMatch(/^error .*certificate required/);
    } finally {
      await server.stop();
    }
  });
});

describe('OVN over SSL', () => {
  it('serves NB/SB on ssl: and an ovn-controller registers through the SB ssl remote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'h-ovnssl-'));
    try {
      const pki = await createPki(join(dir, 'pki'));
      const central = await startOvnCentral({ dir, remotes: ['punix', 'pssl'], pki });
      const ovs = await startVswitchd({ dir, name: 'hv1' });
      try {
        const sbSslRemote = central.sbSslRemote ?? '';
        expect(sbSslRemote).toMatch(/^ssl:127\.0\.0\.1:\d+$/);
        expect(central.nbSslRemote).toMatch(/^ssl:/);
        const controller = await startOvnController({
          ovs,
          central,
          chassis: 'hv1',
          sbRemote: sbSslRemote,
          pki,
        });
        expect(
          await central.sbctl(`--db=${sbSslRemote}`, '--bare', '--columns=name', 'list', 'Chassis'),
        ).toBe('hv1\n');
        await controller.stop();
      } finally {
        await ovs.stop();
        await central.stop();
      }
      expect(await processesUnder(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('3-member Raft cluster', () => {
  it('elects a leader, transfers leadership, survives a member kill -9 and restart', async () => {
    const cluster = await startRaftCluster({ schema: OVN_SB_SCHEMA, members: 3 });
    const dir = cluster.dir;
    try {
      expect(cluster.members).toHaveLength(3);
      expect(cluster.remote.split(',')).toHaveLength(3);
      const leader = await cluster.leader();
      await leader.server.transact([{ op: 'insert', table: 'Address_Set', row: { name: 'as1' } }]);
      const next = await cluster.transferLeadership();
      expect(next.index).not.toBe(leader.index);
      expect((await next.status()).role).toBe('leader');

      const follower = cluster.members.find((m) => m !== next);
      if (!follower) throw new Error('no follower');
      await follower.kill9();
      await next.server.transact([{ op: 'insert', table: 'Address_Set', row: { name: 'as2' } }]);
      await follower.restart();
      await cluster.waitHealthy();
      await waitUntil(async () => (await follower.server.select('Address_Set')).length === 2, {
        description: 'restarted member to catch up',
      });
    } finally {
      await cluster.stop();
    }
    expect(await processesUnder(dir)).toEqual([]);
  });
});

describe('ovsdb relay', () => {
  it("serves the upstream cluster's data, forwards writes to it, reports model relay, and leaves nothing behind", async () => {
    const cluster = await startRaftCluster({ schema: OVN_SB_SCHEMA, members: 3 });
    let relayDir = '';
    try {
      const leader = await cluster.leader();
      await leader.server.transact([{ op: 'insert', table: 'Address_Set', row: { name: 'before' } }]);
      const relay = await startOvsdbRelay({ schema: OVN_SB_SCHEMA, upstream: cluster.remote });
      relayDir = relay.dir;
      try {
        expect(relay.tcpRemote).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
        await waitUntil(async () => (await relay.select('Address_Set')).length === 1, {
          description: 'relay to have the upstream row',
        });
        await relay.transact([{ op: 'insert', table: 'Address_Set', row: { name: 'through-relay' } }]);
        await waitUntil(async () => (await leader.server.select('Address_Set')).length === 2, {
          description: 'write through the relay to reach the cluster',
        });
        const server = await relay.client(
          'query',
          relay.remote,
          JSON.stringify([
            '_Server',
            { op: 'select', table: 'Database', where: [['name', '==', 'OVN_Southbound']] },
          ]),
        );
        expect(server).toContain('"model":"relay"');
      } finally {
        await relay.stop();
      }
      expect(await processesUnder(relayDir)).toEqual([]);
    } finally {
      await cluster.stop();
    }
  });
});

describe('sandbox with two chassis (unmodified ovn-controller)', () => {
  const sandbox = useSandbox({ beforeAll, afterAll }, { chassis: ['hv1', 'hv2'] });

  it('registers both chassis and binds a port whose OVS interface carries iface-id (Port_Binding.up)', async () => {
    const { central } = sandbox();
    const chassis = (await central.sbctl('--bare', '--columns=name', 'list', 'Chassis'))
      .split('\n')
      .filter(Boolean);
    expect(chassis.sort()).toEqual(['hv1', 'hv2']);

    await lspAdd(central, 'lsp1');
    expect((await getPortBinding(central, 'lsp1'))?.['up']).not.toBe(true);
    const hv2 = sandbox().node('hv2').ovs;
    await hv2.vsctl(
      'add-port',
      'br-int',
      'vif1',
      '--',
      'set',
      'Interface',
      'vif1',
      'external_ids:iface-id=lsp1',
    );
    await waitPortBindingUp(central, 'lsp1');
    expect(await portBindingChassisName(central, 'lsp1')).toBe('hv2');
    const [iface] = await interfacesForLogicalPort(hv2, 'lsp1');
    expect(Number(iface?.['ofport'])).toBeGreaterThan(0);
  });

  it('keeps working after ovs-vswitchd alone is restarted', async () => {
    const { central } = sandbox();
    const hv1 = sandbox().node('hv1').ovs;
    await hv1.restartVswitchd();
    await lspAdd(central, 'lsp2');
    await hv1.vsctl(
      'add-port',
      'br-int',
      'vif2',
      '--',
      'set',
      'Interface',
      'vif2',
      'external_ids:iface-id=lsp2',
    );
    await waitPortBindingUp(central, 'lsp2');
    expect(await portBindingChassisName(central, 'lsp2')).toBe('hv1');
  });
});

describe('sandbox with ovn-controller --enable-dummy-vif-plug', () => {
  it('plugs a vif-plug-type=dummy port by itself, and stop() leaves no process behind', async () => {
    const sandbox = await startSandbox({ chassis: ['hv1'], enableDummyVifPlug: true });
    const dir = sandbox.dir;
    try {
      await lspAdd(sandbox.central, 'lsp-dummy-plugged', {
        options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
      });
      await waitPortBindingUp(sandbox.central, 'lsp-dummy-plugged');
      const [iface] = await interfacesForLogicalPort(sandbox.node('hv1').ovs, 'lsp-dummy-plugged');
      // OVN's dummy provider: name cut to 15 characters, type internal, its own option and marker.
      expect(iface?.['name']).toBe('lsp-dummy-plugg');
      expect(iface?.['type']).toBe('internal');
      expect(asStringMap(iface?.['options'])).toEqual({ 'vif-plug-dummy-option': 'value' });
      expect(asStringMap(iface?.['external_ids'])['ovn-plugged']).toBe('dummy');
    } finally {
      await sandbox.stop();
    }
    expect(await processesUnder(dir)).toEqual([]);
    expect(
      defaultRegistry()
        .liveProcesses()
        .filter((p) => p.outPath.startsWith(dir)),
    ).toEqual([]);
  });
});

describe('sandbox whose Southbound is a 3-member Raft cluster', () => {
  it('binds ports before and after an SB leadership transfer', async () => {
    const sandbox = await startSandbox({ chassis: ['hv1'], sbCluster: true });
    try {
      const { central } = sandbox;
      const cluster = central.sbCluster;
      if (!cluster) throw new Error('expected an SB cluster');
      expect(central.sbRemote).toBe(cluster.remote);
      expect(central.sbRemote.split(',')).toHaveLength(3);
      const hv1 = sandbox.node('hv1').ovs;
      await lspAdd(central, 'lsp-c1');
      await hv1.vsctl(
        'add-port',
        'br-int',
        'vifc1',
        '--',
        'set',
        'Interface',
        'vifc1',
        'external_ids:iface-id=lsp-c1',
      );
      await waitPortBindingUp(central, 'lsp-c1');

      await cluster.transferLeadership();
      await lspAdd(central, 'lsp-c2');
      await hv1.vsctl(
        'add-port',
        'br-int',
        'vifc2',
        '--',
        'set',
        'Interface',
        'vifc2',
        'external_ids:iface-id=lsp-c2',
      );
      await waitPortBindingUp(central, 'lsp-c2');
      expect(await portBindingChassisName(central, 'lsp-c2')).toBe('hv1');
    } finally {
      await sandbox.stop();
    }
  });
});

describe('useHarness teardown scope', () => {
  const startSmallServer = (): Promise<OvsdbServer> =>
    startOvsdbServer({ schema: VSWITCH_SCHEMA, remotes: ['punix'] });
  const outer = useHarness({ beforeAll, afterAll }, startSmallServer);
  let leaked: OvsdbServer | undefined;
  let innerServer: OvsdbServer | undefined;

  describe('an inner suite that leaks a server', () => {
    const inner = useHarness({ beforeAll, afterAll }, startSmallServer);
    it('starts a server and does not stop it', async () => {
      innerServer = inner();
      leaked = await startSmallServer();
      expect(leaked.process.running).toBe(true);
    });
  });

  it('inner teardown stopped the inner and the leaked server, not the outer one', async () => {
    expect(innerServer?.process.running).toBe(false);
    expect(leaked?.process.running).toBe(false);
    expect(await processesMentioning(leaked?.dir ?? 'no-such-dir')).toEqual([]);
    expect(outer().process.running).toBe(true);
    expect(await outer().appctl('version')).toMatch(/ovsdb-server/);
  });
});
