/**
 * The devlink fixtures and the parsers under hostile input (issue 9 part 5).
 *
 * Every fixture is hand-written (test/fixtures/devlink/README.md says so and lists each one; this
 * test keeps it that way). The property tests feed `parsePortShowOutput` and the `devlink monitor`
 * stream parser random, truncated and mutated input: they must never crash, must explain every
 * rejected piece in words, and the monitor parser must read the same events however the stream is
 * cut into chunks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DevlinkMonitorParser, DevlinkOutputError, parsePortShowOutput } from './devlink-json.js';
import { lookupRepresentor, parseSelector } from './lookup.js';
import { buildPortTable } from './port-table.js';
import { dpdkDevargs } from './dpdk.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/devlink/', import.meta.url));
const read = (name: string): string => readFileSync(`${DIR}${name}`, 'utf8');
const PORT_SHOW_FIXTURES = readdirSync(DIR).filter((name) => name.endsWith('.port-show.json'));
const MONITOR_STREAM = read('bluefield2-vf-hotplug.monitor.json');

describe('devlink fixtures', () => {
  it('every fixture file is listed (and so labelled hand-written) in the README', () => {
    const readme = read('README.md');
    expect(readme).toContain('Every file here is hand-written; none was captured from hardware.');
    for (const name of readdirSync(DIR).filter((n) => n !== 'README.md'))
      expect(readme).toContain(`\`${name}\``);
  });

  it.each(PORT_SHOW_FIXTURES)('%s parses without problems', (name) => {
    const dump = parsePortShowOutput(read(name));
    expect(dump.problems).toEqual([]);
    expect(dump.ports.length).toBeGreaterThan(0);
  });

  it('BlueField-3 PF without VFs: the PF plugs, a VF request says no VFs exist and why that may be', () => {
    const table = buildPortTable(parsePortShowOutput(read('bluefield3-pf-no-vfs.port-show.json')).ports);
    const pf = lookupRepresentor(table, { pfMac: 'a0:88:c2:00:00:10' });
    expect(pf).toMatchObject({ kind: 'found', netdev: 'pf0hpf' });
    expect(lookupRepresentor(table, { pfMac: 'a0:88:c2:00:00:10', vfNum: 0 })).toEqual({
      kind: 'notNow',
      code: 'VfNotFound',
      reason:
        'VF 0 not found under PF a0:88:c2:00:00:10 (pf0hpf, controller 1, pci/0000:03:00.0 pfnum 0) (no VFs known: are VFs created on the host (sriov_numvfs)?)',
    });
  });

  it("BlueField-3 SFs on the DPU's own PF (controller 0): found by sf-num, devargs in the sf<n> form", () => {
    const table = buildPortTable(parsePortShowOutput(read('bluefield3-dpu-local-sfs.port-show.json')).ports);
    const selector = parseSelector({
      'vif-plug:representor:pf-mac': 'a0:88:c2:00:00:20',
      'vif-plug:representor:sf-num': '4',
    });
    if ('kind' in selector) throw new Error(selector.reason);
    const match = lookupRepresentor(table, selector);
    if (match.kind !== 'found') throw new Error(match.reason);
    expect(match.netdev).toBe('en3f0pf0sf4');
    expect(dpdkDevargs(match.port, 'exclusive')).toBe('0000:03:00.0,representor=sf4');
    // Host PF (controller 1) and DPU PF (controller 0) share pfnum 0 on one device and stay apart.
    expect(table.pfs.map((p) => [p.id, p.sfs.size])).toEqual([
      ['pci/0000:03:00.0/c0/pf0', 2],
      ['pci/0000:03:00.0/c1/pf0', 0],
    ]);
  });
});

/** A clear reason: a non-empty sentence, not a stack trace or an object dump. */
function expectReason(text: string): void {
  expect(text.length).toBeGreaterThan(10);
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toContain('[object Object]');
}

function parseOrReason(text: string): void {
  try {
    const dump = parsePortShowOutput(text);
    for (const problem of dump.problems) expectReason(problem);
    for (const port of dump.ports) expect(port.handle).toMatch(/^[^/\s]+\/[^/\s]+\/\d+$/);
  } catch (error) {
    expect(error).toBeInstanceOf(DevlinkOutputError);
    expectReason((error as Error).message);
  }
}

/** Any JSON value, for replacing fields of real entries. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

describe('parsePortShowOutput under hostile input (property)', () => {
  it('random text: a dump or a DevlinkOutputError with a reason', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), parseOrReason), { numRuns: 1000 });
  });

  it('random JSON documents', () => {
    fc.assert(
      fc.property(anyJson, (value) => parseOrReason(JSON.stringify(value))),
      { numRuns: 1000 },
    );
  });

  it.each(PORT_SHOW_FIXTURES)('every truncation of %s', (name) => {
    const text = read(name);
    for (let cut = 0; cut < text.length; cut += 1) parseOrReason(text.slice(0, cut));
  });

  it('fixture entries with a field replaced by any JSON value: the others still parse, the bad one is named', () => {
    const entries = PORT_SHOW_FIXTURES.flatMap((name) =>
      Object.entries((JSON.parse(read(name)) as { port: Record<string, Record<string, unknown>> }).port),
    );
    const fields = [
      'type',
      'netdev',
      'flavour',
      'controller',
      'pfnum',
      'vfnum',
      'sfnum',
      'external',
      'port',
      'function',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...entries),
        fc.constantFrom(...fields),
        anyJson,
        ([handle, entry], field, value) => {
          const other = ['pci/0000:99:00.0/1', { type: 'eth', netdev: 'ok0', flavour: 'physical', port: 0 }];
          const text = JSON.stringify({
            port: { [handle]: { ...entry, [field]: value }, [other[0] as string]: other[1] },
          });
          const dump = parsePortShowOutput(text);
          expect(dump.ports.some((p) => p.handle === other[0])).toBe(true);
          if (dump.ports.some((p) => p.handle === handle)) return;
          expect(dump.problems).toHaveLength(1);
          expect(dump.problems[0]).toContain(handle);
          expect(dump.problems[0]).toContain(`"${field}`);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

function feed(
  parser: DevlinkMonitorParser,
  chunks: readonly string[],
): { events: string[]; problems: string[] } {
  const events: string[] = [];
  const problems: string[] = [];
  for (const chunk of chunks) {
    const result = parser.push(chunk);
    events.push(...result.events.map((e) => `${e.command} ${e.port.handle} ${e.port.netdev ?? '-'}`));
    problems.push(...result.problems);
  }
  return { events, problems };
}

function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let last = 0;
  for (const point of points) {
    chunks.push(text.slice(last, point));
    last = point;
  }
  chunks.push(text.slice(last));
  return chunks;
}

describe('DevlinkMonitorParser under hostile input (property)', () => {
  const whole = feed(new DevlinkMonitorParser(), [MONITOR_STREAM]);

  it('reads the fixture stream the same however it is chunked', () => {
    expect(whole.problems).toEqual([]);
    expect(whole.events).toHaveLength(4);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
        expect(feed(new DevlinkMonitorParser(), splitAt(MONITOR_STREAM, cuts))).toEqual(whole);
      }),
      { numRuns: 500 },
    );
  });

  it('random text in random chunks: never throws, every problem is a reason', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 20 }), (chunks) => {
        const { problems } = feed(new DevlinkMonitorParser(), chunks);
        for (const problem of problems) expectReason(problem);
      }),
      { numRuns: 1000 },
    );
  });

  it('a truncated or corrupted stream: never throws, every problem is a reason, every event read is whole', () => {
    fc.assert(
      fc.property(
        fc.nat(MONITOR_STREAM.length),
        fc.array(
          fc.tuple(
            fc.nat(MONITOR_STREAM.length - 1),
            fc.constantFrom('{', '}', '"', ',', '[', ']', '\\', 'x'),
          ),
          {
            maxLength: 3,
          },
        ),
        (cut, flips) => {
          const chars = [...MONITOR_STREAM.slice(0, cut)];
          for (const [index, char] of flips) if (index < chars.length) chars[index] = char;
          const parser = new DevlinkMonitorParser();
          const damaged = feed(parser, [chars.join('')]);
          for (const problem of damaged.problems) expectReason(problem);
          // The parser never yields a partial event: each has a command, a handle and a netdev.
          for (const event of damaged.events) expect(event).toMatch(/^(new|set|get|del) \S+\/\S+\/\d+ \S+$/);
        },
      ),
      { numRuns: 500 },
    );
  });
});
