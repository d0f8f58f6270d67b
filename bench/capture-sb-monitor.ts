/**
 * `npm run bench:capture-sb-monitor` — records what a real ovn-controller (`ovn-monitor-all=false`,
 * the default) asks the Southbound server to monitor, for bench/scale.ts to replay: the SB
 * server's `jsonrpc` module is set to debug before ovn-controller connects, ovn-controller binds
 * one port (OVN's dummy plug provider) on one logical switch while a second switch has a port on
 * another chassis, and once its condition names the local datapath, the requests of its
 * connection are written to test/fixtures/ovn-controller-sb-monitor/ovn-controller-sb-monitor.json.
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  MONITOR_FIXTURE,
  parseJsonrpcLog,
  parseMonitorCaptureFixture,
  type CapturedRequest,
  type JsonrpcLogEntry,
  type MonitorCaptureFixture,
} from './support/index.js';
import { runCommand, startOvnController, startSandbox, toolEnv, waitUntil } from '../test/harness/index.js';

const KEPT_METHODS = new Set([
  'monitor_cond',
  'monitor_cond_since',
  'monitor_cond_change',
  'set_db_change_aware',
]);

async function main(): Promise<void> {
  const version = (await runCommand('ovn-controller', ['--version'], { env: toolEnv('/tmp') })).stdout
    .split('\n')[0]
    ?.trim();
  const sandbox = await startSandbox({ chassis: ['hv1'], withoutController: true, enableDummyVifPlug: true });
  try {
    const central = sandbox.central;
    const sb = central.sb;
    if (sb === undefined) throw new Error('expected a standalone SB');
    await sb.appctl('vlog/set', 'jsonrpc:file:dbg');
    const node = sandbox.node('hv1');
    await node.ovs.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'external_ids:ovn-monitor-all=false');
    const controller = await startOvnController({
      ovs: node.ovs,
      central,
      chassis: 'hv1',
      enableDummyVifPlug: true,
    });
    await central.sbctl('chassis-add', 'hv9', 'geneve', '127.0.0.9');
    await central.nbctlWaitSb(
      ...['ls-add', 'ls1', '--', 'lsp-add', 'ls1', 'p1'],
      ...['--', 'lsp-set-options', 'p1', 'requested-chassis=hv1', 'vif-plug-type=dummy'],
      ...['--', 'ls-add', 'ls2', '--', 'lsp-add', 'ls2', 'p2'],
      ...['--', 'lsp-set-options', 'p2', 'requested-chassis=hv9', 'vif-plug-type=dummy'],
    );
    const uuidOf = async (...args: string[]): Promise<string> =>
      (await central.sbctl('--bare', '--columns=_uuid', 'find', ...args)).trim();
    const chassisUuid = await uuidOf('Chassis', 'name=hv1');
    const datapathUuid = await uuidOf('Datapath_Binding', 'external_ids:name=ls1');
    const requests = await waitUntil(
      async () => {
        const entries = parseJsonrpcLog(await readFile(sb.logPath, 'utf8'));
        const connection = controllerConnection(entries);
        if (connection === undefined) return undefined;
        const mine = entries.filter(
          (e) =>
            e.connection === connection &&
            e.direction === 'received' &&
            e.kind === 'request' &&
            KEPT_METHODS.has(e.method ?? ''),
        );
        const local = mine.some(
          (e) => e.method === 'monitor_cond_change' && JSON.stringify(e.params).includes(datapathUuid),
        );
        return local
          ? mine.map((e): CapturedRequest => ({ method: e.method ?? '', params: e.params }))
          : undefined;
      },
      { description: "ovn-controller's condition to name its local datapath", timeoutMs: 30_000 },
    );
    await controller.stop();
    const fixture: MonitorCaptureFixture = {
      description:
        'Southbound requests of a real ovn-controller (ovn-monitor-all=false) bound to one port (p1, ' +
        'logical switch ls1) on chassis hv1, with a second switch whose port asks for chassis hv9; ' +
        "captured by `npm run bench:capture-sb-monitor` from the SB server's jsonrpc debug log " +
        '(ovs-appctl vlog/set jsonrpc:file:dbg before ovn-controller connected). Replayed by bench/scale.ts.',
      capturedFrom: version ?? 'ovn-controller (unknown version)',
      database: 'OVN_Southbound',
      identity: { chassisName: 'hv1', chassisUuid, datapathUuid, logicalPort: 'p1' },
      requests,
    };
    parseMonitorCaptureFixture(JSON.parse(JSON.stringify(fixture)));
    await writeFile(MONITOR_FIXTURE, JSON.stringify(fixture, null, 2) + '\n');
    console.log(`wrote ${MONITOR_FIXTURE}: ${requests.length} requests of ${version}`);
  } finally {
    await sandbox.stop();
  }
}

/** The connection whose Southbound monitor includes Logical_Flow: only ovn-controller asks for it. */
function controllerConnection(entries: readonly JsonrpcLogEntry[]): string | undefined {
  return entries.find(
    (e) =>
      e.direction === 'received' &&
      e.method === 'monitor_cond_since' &&
      Array.isArray(e.params) &&
      e.params[0] === 'OVN_Southbound' &&
      typeof e.params[2] === 'object' &&
      e.params[2] !== null &&
      'Logical_Flow' in e.params[2],
  )?.connection;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
