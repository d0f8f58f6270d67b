/**
 * Issue 9 part 2, end to end: a port-function attribute Debian 12's iproute2 (6.1) cannot set is
 * a warning on a port that otherwise works: the port is plugged and Bound by the real, unmodified
 * ovn-controller in the sandbox, `/status` carries the warning, and
 * `ovn_plug_provider_errors_total{reason="PortFunctionUnsupported"}` counts it once. FAKE parts:
 * devlink (`fake-devlink.js` with `FAKE_DEVLINK_IPROUTE2=6.1`, which refuses `roce` with iproute2
 * 6.1's own words) serving the hand-written BlueField-2 fixture.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCommandLine, startAgent, type AgentHandle, type PortStatus } from '../../src/agent/index.js';
import { makeWorkDir, startSandbox, waitPortBindingUp, waitUntil, type Sandbox } from '../harness/index.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/devlink/', import.meta.url));
const FAKE_DEVLINK = join(FIXTURES, 'fake-devlink.js');
const PF_MAC = '08:c0:eb:c4:2a:10';
const VF2 = 'pci/0000:03:00.0/196610';

let sandbox: Sandbox;
let agent: AgentHandle;

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const dir = (await makeWorkDir('devlink', sandbox.dir, 'devlink')).path;
  await copyFile(join(FIXTURES, 'bluefield2-dpu.port-show.json'), join(dir, 'ports.json'));
  await writeFile(join(dir, 'events.ndjson'), '');
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  const wrapper = join(dir, 'fake-devlink-6.1.sh');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      `export FAKE_DEVLINK_PORTS=${quote(join(dir, 'ports.json'))}`,
      `export FAKE_DEVLINK_EVENTS=${quote(join(dir, 'events.ndjson'))}`,
      'export FAKE_DEVLINK_IPROUTE2=6.1',
      `exec ${quote(process.execPath)} ${quote(FAKE_DEVLINK)} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const parsed = parseCommandLine(
    [
      `--ovs-db=${sandbox.node('hv1').ovs.dbRemote}`,
      '--providers=representor',
      `--devlink-command=${wrapper}`,
      '--card-serial=off',
      '--listen=127.0.0.1:0',
      '--log-level=silent',
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  agent = await startAgent(parsed.config);
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sandbox?.stop();
});

it('roce on iproute2 6.1: plugged and Bound, with the warning in /status and counted once', async () => {
  await sandbox.central.nbctlWaitSb(
    '--may-exist',
    'ls-add',
    'net1',
    '--',
    'lsp-add',
    'net1',
    'vm-roce',
    '--',
    'lsp-set-addresses',
    'vm-roce',
    'fa:16:3e:00:00:21 10.0.0.21',
    '--',
    'lsp-set-options',
    'vm-roce',
    'requested-chassis=hv1',
    'vif-plug-type=representor',
    `vif-plug:representor:pf-mac=${PF_MAC}`,
    'vif-plug:representor:vf-num=2',
    'vif-plug:representor:roce=enable',
  );
  await waitPortBindingUp(sandbox.central, 'vm-roce');
  const port = await waitUntil(
    () => {
      const p = agent.status().ports.find((s) => s.logicalPort === 'vm-roce');
      return p?.state === 'Bound' && p.warnings !== undefined ? p : undefined;
    },
    { description: 'vm-roce Bound with warnings', timeoutMs: 10_000 },
  );
  expect(port).toMatchObject({ interfaceName: 'pf0vf2', reason: 'Bound' });
  expect(port.warnings).toEqual([
    `PortFunctionUnsupported: VF 2 (devlink port ${VF2}): cannot set roce enable: Unknown option "roce"`,
  ]);
  const status = (await (await fetch(`${agent.url ?? ''}/status`)).json()) as { ports: PortStatus[] };
  expect(status.ports.find((p) => p.logicalPort === 'vm-roce')?.warnings).toEqual(port.warnings);

  // Let a few more rounds run: the warning persists but is counted once.
  const rounds = agent.reconciler.stats.rounds;
  agent.reconciler.schedule('timer');
  await waitUntil(
    () => agent.reconciler.stats.rounds > rounds + 1 || (agent.reconciler.schedule('timer'), false),
    {
      description: 'two more reconcile rounds',
      maxIntervalMs: 20,
    },
  );
  const metrics = await agent.metricsRegistry.metrics();
  expect(metrics).toContain(
    'ovn_plug_provider_errors_total{provider="representor",reason="PortFunctionUnsupported"} 1',
  );
});
