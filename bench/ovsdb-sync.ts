/**
 * Initial-sync benchmark: our OvsdbClient vs the C `ovsdb-client` on the same real ovsdb-server
 * holding a 100,000-row table (DESIGN §4: ours at most 0.9 of C since 2026-12-02; 1.5x before, ADR 0022).
 *
 * What is timed:
 * - ours: `new OvsdbClient(...)`, `start()` until `ready()` resolved with all rows in the replica
 *   (connect, _Server check, schema, monitor_cond_since, framing, decoding, replica + index
 *   build), in this process.
 * - C floor: `ovsdb-client --detach monitor unix:... Bench Item --format=json`, the wall time
 *   until the parent process exits. With --detach the parent exits once the child has received
 *   and printed the initial contents of the same monitor the IDL would request (output to
 *   /dev/null), so it measures the same protocol work plus a process start — a floor for "a C
 *   client has the table". `ovsdb-client dump` is printed for reference: it uses `transact
 *   select`, not a monitor, so it is not the comparison.
 * - Python IDL (`ovs.db.idl`), only when python3-openvswitch is installed.
 *
 * Each is run 3 times, interleaved; the median is reported. Last line (parsed by the compass):
 * `ovsdb-sync rows=100000 ours_ms=<a> c_ms=<b> ratio=<a/b>`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOvsdbServer } from '../test/harness/index.js';
import { OvsdbClient, RpcConnection, parseRemote } from '../src/ovsdb/index.js';

const ROWS = 100_000;
const BATCH = 10_000;
const RUNS = 3;

const SCHEMA = {
  name: 'Bench',
  version: '1.0.0',
  tables: {
    Item: {
      columns: {
        name: { type: 'string' },
        value: { type: 'integer' },
        enabled: { type: 'boolean' },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
      indexes: [['name']],
      isRoot: true,
    },
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(performance.now() - t0);
      else reject(new Error(`${command} ${args.join(' ')} exited ${String(code)}: ${stderr}`));
    });
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-ovsdb-'));
  const schemaPath = join(dir, 'bench.ovsschema');
  await writeFile(schemaPath, JSON.stringify(SCHEMA));
  const server = await startOvsdbServer({ schema: schemaPath, name: 'bench', remotes: ['punix'] });
  const remote = server.unixRemote as string;
  try {
    // Fill the table in big transactions over a raw connection.
    const fillStart = performance.now();
    const conn = await RpcConnection.open(parseRemote(remote));
    for (let base = 0; base < ROWS; base += BATCH) {
      const ops = [];
      for (let i = base; i < base + BATCH; i++) {
        ops.push({
          op: 'insert',
          table: 'Item',
          row: {
            name: `item-${i}`,
            value: i,
            enabled: i % 2 === 0,
            external_ids: [
              'map',
              [
                ['owner', `node-${i % 100}`],
                ['seq', String(i)],
              ],
            ],
          },
        });
      }
      const result = await conn.request<unknown[]>('transact', ['Bench', ...ops], { timeoutMs: 120_000 });
      const failed = result.find((r) => r !== null && typeof r === 'object' && 'error' in r);
      if (failed !== undefined) throw new Error(`fill failed: ${JSON.stringify(failed)}`);
    }
    conn.close();
    console.log(`filled ${ROWS} rows in ${(performance.now() - fillStart).toFixed(0)} ms`);

    const ours: number[] = [];
    const cFloor: number[] = [];
    const cDump: number[] = [];
    const python: number[] = [];
    const oursCpu: number[] = [];
    // Debian's python3-openvswitch lives in the system interpreter, which a version manager's
    // `python3` earlier on the PATH may hide.
    const pythonBin = ['/usr/bin/python3', 'python3'].find(
      (bin) => spawnSync(bin, ['-c', 'import ovs.db.idl'], { stdio: 'ignore' }).status === 0,
    );
    const hasPythonIdl = pythonBin !== undefined;
    const pidFile = join(dir, 'monitor.pid');
    const env = { ...process.env, ...server.env };
    let rssAfterOurs = 0;

    for (let r = 0; r < RUNS; r++) {
      // ours
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const client = new OvsdbClient({
        remotes: remote,
        database: 'Bench',
        tables: { Item: {} },
        leaderOnly: false,
      });
      client.start();
      await client.ready();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      oursCpu.push((cpu.user + cpu.system) / 1000);
      if (client.table('Item').size !== ROWS)
        throw new Error(`replica has ${client.table('Item').size} rows, expected ${ROWS}`);
      rssAfterOurs = Math.max(rssAfterOurs, process.memoryUsage().rss);
      await client.close();
      ours.push(ms);

      // C floor: monitor until the initial contents are printed (parent exits after --detach).
      cFloor.push(
        await run(
          'ovsdb-client',
          [
            '--detach',
            '--no-chdir',
            `--pidfile=${pidFile}`,
            'monitor',
            remote,
            'Bench',
            'Item',
            '--format=json',
          ],
          env,
        ),
      );
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      process.kill(pid, 'SIGTERM');

      cDump.push(await run('ovsdb-client', ['dump', '--format=json', remote, 'Bench', 'Item'], env));

      if (hasPythonIdl) {
        const script = [
          'import sys, ovs.db.idl, ovs.poller',
          `helper = ovs.db.idl.SchemaHelper(location=${JSON.stringify(schemaPath)})`,
          'helper.register_table("Item")',
          `idl = ovs.db.idl.Idl(${JSON.stringify(remote)}, helper)`,
          // Check after run(): blocking again once every row is in would wait forever.
          'while True:',
          '    idl.run()',
          '    if idl.has_ever_connected() and len(idl.tables["Item"].rows) >= ' + String(ROWS) + ':',
          '        break',
          '    p = ovs.poller.Poller(); idl.wait(p); p.block()',
        ].join('\n');
        python.push(await run(pythonBin ?? 'python3', ['-c', script], env));
      }
    }

    const oursMs = median(ours);
    const cMs = median(cFloor);
    const gc = globalThis as { gc?: () => void };
    gc.gc?.();
    console.log(
      `ours (OvsdbClient, unix, in-process): runs ${ours.map((x) => x.toFixed(0)).join(', ')} ms; median ${oursMs.toFixed(0)} ms (our CPU: median ${median(oursCpu).toFixed(0)} ms)`,
    );
    console.log(
      `C floor (ovsdb-client --detach monitor --format=json): runs ${cFloor.map((x) => x.toFixed(0)).join(', ')} ms; median ${cMs.toFixed(0)} ms`,
    );
    console.log(
      `C reference (ovsdb-client dump --format=json, transact select): median ${median(cDump).toFixed(0)} ms`,
    );
    console.log(
      hasPythonIdl
        ? `Python IDL: median ${median(python).toFixed(0)} ms`
        : 'Python IDL: skipped (python3-openvswitch is not installed)',
    );
    console.log(
      `peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (RSS right after our sync: ${(rssAfterOurs / 1048576).toFixed(0)} MB)`,
    );
    console.log(
      `ovsdb-sync rows=${ROWS} ours_ms=${oursMs.toFixed(0)} c_ms=${cMs.toFixed(0)} ratio=${(oursMs / cMs).toFixed(2)}`,
    );
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
