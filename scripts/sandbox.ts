/**
 * Starts a local OVN sandbox (test/harness startSandbox) and keeps it running until Ctrl-C or
 * SIGTERM, then stops every process it started and removes its directory (unless --keep-files).
 * Prints the remotes and shell settings for ovn-nbctl / ovn-sbctl / ovs-vsctl, and with
 * --env-out writes them as `KEY=value` lines for scripts (scripts/demo.sh sources that file).
 *
 *   npx tsx scripts/sandbox.ts [--chassis=hv1[,hv2...]] [--enable-dummy-vif-plug] [--sb-cluster]
 *                              [--env-out=PATH] [--keep-files] [--no-hints]
 *
 * --no-hints leaves out the log files, the commands to try and "Press Ctrl-C" (for scripts that
 * stop the sandbox themselves, such as `scripts/demo.sh --once`).
 */
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProcessRegistry, startSandbox, type Sandbox } from '../test/harness/index.js';

const usage =
  'usage: tsx scripts/sandbox.ts [--chassis=hv1[,hv2...]] [--enable-dummy-vif-plug] [--sb-cluster] ' +
  '[--env-out=PATH] [--keep-files] [--no-hints]';

function parseCommandLine(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      chassis: { type: 'string', default: 'hv1' },
      'enable-dummy-vif-plug': { type: 'boolean', default: false },
      'sb-cluster': { type: 'boolean', default: false },
      'env-out': { type: 'string' },
      'keep-files': { type: 'boolean', default: false },
      'no-hints': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const chassis = values.chassis.split(',').map((c) => c.trim());
  const bad = chassis.find((c) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(c));
  if (bad !== undefined)
    throw new Error(`invalid chassis name ${JSON.stringify(bad)} in --chassis=${values.chassis}`);
  return {
    chassis,
    enableDummyVifPlug: values['enable-dummy-vif-plug'],
    sbCluster: values['sb-cluster'],
    envFile: values['env-out'],
    keepFiles: values['keep-files'],
    hints: !values['no-hints'],
    help: values.help,
  };
}

/** `KEY=value` lines describing the sandbox, for shells and scripts. */
function envLines(sandbox: Sandbox): string[] {
  const { central } = sandbox;
  const lines = [
    `SANDBOX_DIR=${sandbox.dir}`,
    `OVN_NB_DB=${central.nbRemote}`,
    `OVN_SB_DB=${central.sbRemote}`,
    `OVN_NB_TCP=${central.nbTcpRemote ?? ''}`,
    `OVN_SB_TCP=${central.sbTcpRemote ?? ''}`,
    `SANDBOX_CHASSIS=${sandbox.nodes.map((n) => n.chassis).join(',')}`,
  ];
  for (const node of sandbox.nodes) {
    const key = node.chassis.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    lines.push(`OVS_DB_${key}=${node.ovs.dbRemote}`, `OVS_RUNDIR_${key}=${node.ovs.dir}`);
  }
  return lines;
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseCommandLine>;
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    console.error(`sandbox: ${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return 2;
  }
  if (options.help) {
    console.log(usage);
    return 0;
  }
  // A registry of our own: this CLI does a graceful stop on signals itself; the exit hook and
  // setpriv's parent-death signal still kill everything if we die without cleaning up.
  const registry = new ProcessRegistry();
  process.on('exit', () => registry.killAllNow());

  const started = Date.now();
  const sandbox = await startSandbox({
    chassis: options.chassis,
    enableDummyVifPlug: options.enableDummyVifPlug,
    sbCluster: options.sbCluster,
    keepFiles: options.keepFiles,
    registry,
  });
  const lines = envLines(sandbox);
  if (options.envFile !== undefined) {
    const tmp = `${options.envFile}.tmp`;
    await writeFile(tmp, `${lines.join('\n')}\n`);
    await rename(tmp, options.envFile); // readers never see a half-written file
  }
  console.log(`sandbox ready in ${Date.now() - started} ms, files and logs in ${sandbox.dir}`);
  console.log(lines.map((l) => `  ${l}`).join('\n'));
  if (options.hints) printHints(sandbox, await logFiles(sandbox.dir));

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`sandbox: ${signal}, stopping`);
  await sandbox.stop();
  await registry.stopAll();
  if (options.envFile !== undefined) await rm(options.envFile, { force: true });
  if (options.keepFiles) console.log(`sandbox: files kept in ${sandbox.dir}`);
  return 0;
}

/** Every log file under `dir` (the NB/SB servers log one folder below central/), sorted. */
async function logFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((name) => name.endsWith('.log'))
    .map((name) => join(dir, name))
    .sort();
}

function printHints(sandbox: Sandbox, logs: readonly string[]): void {
  const first = sandbox.nodes[0];
  console.log('Logs:');
  for (const log of logs) console.log(`  ${log}`);
  console.log('\nTry, from another shell:');
  console.log(`  ovn-nbctl --db=${sandbox.central.nbRemote} show`);
  console.log(`  ovn-sbctl --db=${sandbox.central.sbRemote} show`);
  for (const node of sandbox.nodes)
    console.log(`  ovs-vsctl --db=${node.ovs.dbRemote} show     # ${node.chassis}`);
  if (first) {
    console.log(`  OVS_RUNDIR=${first.ovs.dir} ovs-ofctl dump-flows br-int     # ${first.chassis}`);
  }
  console.log('Press Ctrl-C to stop.');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`sandbox: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
