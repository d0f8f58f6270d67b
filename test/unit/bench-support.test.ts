import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  linearFit,
  MONITOR_FIXTURE,
  monitorForChassis,
  monitorInEffect,
  parseImageNodeSettings,
  parseJsonrpcLog,
  parseMonitorCaptureFixture,
  parseOpenFilesLimit,
  parseProcStat,
  parseProcStatusRss,
  trimmedMean,
  buildTopology,
  datapathsOfChassis,
} from '../../bench/support/index.js';

describe('/proc parsers', () => {
  it('reads utime and stime (fields 14, 15) even when the command name has spaces and parentheses', () => {
    const line =
      '4242 (ovsdb (server) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 1 0 100 30000000 2500';
    expect(parseProcStat(line)).toEqual({ utime: 1234, stime: 567 });
  });

  it('rejects a line that is not a stat line, naming it', () => {
    expect(() => parseProcStat('no parenthesis here')).toThrow(/not a \/proc\/<pid>\/stat line/);
    expect(() => parseProcStat('1 (x) S 1 2')).toThrow(/utime\/stime not counts/);
  });

  it('reads VmRSS in bytes', () => {
    expect(parseProcStatusRss('Name:\tnode\nVmHWM:\t  90000 kB\nVmRSS:\t   81234 kB\nThreads:\t7\n')).toBe(
      81234 * 1024,
    );
    expect(() => parseProcStatusRss('Name:\tkthreadd\n')).toThrow(/no VmRSS/);
  });

  it('reads the soft open-files limit', () => {
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
      'Max processes             63704                63704                processes \n' +
      'Max open files            1024                 524288               files     \n';
    expect(parseOpenFilesLimit(limits)).toBe(1024);
    expect(parseOpenFilesLimit(limits.replace('1024 ', 'unlimited'))).toBe(Infinity);
  });
});

describe('image Node settings', () => {
  it('takes the major of NODE_IMAGE and the flags of NODE_OPTIONS from a multi-line ENV', () => {
    const dockerfile =
      'ARG NODE_IMAGE=node:20-bookworm-slim\nFROM ${NODE_IMAGE}\nENV NODE_ENV=production \\\n    NODE_OPTIONS=--max-semi-space-size=1\n';
    expect(parseImageNodeSettings(dockerfile)).toEqual({
      major: 20,
      nodeOptions: ['--max-semi-space-size=1'],
    });
    expect(parseImageNodeSettings('ARG NODE_IMAGE=node:26\nENV NODE_OPTIONS="--a --b=2"\n')).toEqual({
      major: 26,
      nodeOptions: ['--a', '--b=2'],
    });
  });

  it('names the missing line', () => {
    expect(() => parseImageNodeSettings('FROM debian\n')).toThrow(/NODE_IMAGE/);
  });

  it("reads the project's Dockerfile", () => {
    expect(parseImageNodeSettings(readFileSync('Dockerfile', 'utf8')).major).toBeGreaterThanOrEqual(20);
  });
});

describe('jsonrpc debug log', () => {
  const log = [
    '2026-12-04T04:40:43.951Z|00007|jsonrpc|DBG|unix#4: received request, method="monitor_cond", params=["_Server",["monid","_Server"],{}], id=8',
    '2026-12-04T04:40:43.952Z|00008|reconnect|DBG|unix#4: entering ACTIVE',
    '2026-12-04T04:40:43.953Z|00009|jsonrpc|DBG|tcp:127.0.0.1:4031: send notification, method="update3", params=[["monid","OVN_Southbound"],"7a1b",{"Port_Binding":{}}]',
    '2026-12-04T04:40:43.960Z|00010|jsonrpc|DBG|unix#4: send reply, result=[{"uuid":["uuid","x"]}], id="a, id=b"',
    '2026-12-04T04:40:43.961Z|00011|jsonrpc|DBG|unix#4: received request, method="echo", params=[], id="echo"',
    '2026-12-04T04:40:43.962Z|00012|jsonrpc|DBG|unix#4: received request, method="transact", params=["OVN_Southbound",{"op":"insert"',
  ].join('\n');

  it('parses requests, notifications and replies with their connection and ms time', () => {
    const entries = parseJsonrpcLog(log);
    expect(entries.map((e) => [e.connection, e.direction, e.kind, e.method])).toEqual([
      ['unix#4', 'received', 'request', 'monitor_cond'],
      ['tcp:127.0.0.1:4031', 'send', 'notification', 'update3'],
      ['unix#4', 'send', 'reply', undefined],
      ['unix#4', 'received', 'request', 'echo'],
    ]);
    expect(entries[0]?.timeMs).toBe(Date.parse('2026-12-04T04:40:43.951Z'));
    expect(entries[0]?.id).toBe(8);
    expect(entries[2]?.id).toBe('a, id=b');
    expect(entries[1]?.params).toEqual([['monid', 'OVN_Southbound'], '7a1b', { Port_Binding: {} }]);
  });
});

describe('captured ovn-controller monitor', () => {
  const fixture = parseMonitorCaptureFixture(JSON.parse(readFileSync(MONITOR_FIXTURE, 'utf8')));
  const tables = monitorInEffect(fixture.requests, fixture.database);

  it("folds the monitor_cond_change requests into the initial request's tables", () => {
    expect(Object.keys(tables)).toContain('Logical_Flow');
    const pb = tables['Port_Binding'];
    expect(pb?.columns).toContain('requested_chassis');
    // After the changes the condition names the local datapath and the bound port.
    expect(JSON.stringify(pb?.where)).toContain(fixture.identity.datapathUuid);
    expect(JSON.stringify(pb?.where)).toContain(JSON.stringify(fixture.identity.logicalPort));
  });

  it('rewrites the conditions for another chassis, one clause per local datapath and port', () => {
    const target = {
      chassisName: 'c7',
      chassisUuid: '00000000-0000-4000-8000-000000000007',
      datapathUuids: ['00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000d2'],
      logicalPorts: ['lp-a', 'lp-b', 'lp-c'],
    };
    const replay = monitorForChassis(tables, fixture.identity, target);
    const text = JSON.stringify(replay);
    for (const old of [fixture.identity.chassisUuid, fixture.identity.datapathUuid])
      expect(text).not.toContain(old);
    expect(text).not.toContain(`"${fixture.identity.chassisName}"`);
    const pb = JSON.stringify(replay['Port_Binding']?.where);
    for (const v of [...target.datapathUuids, ...target.logicalPorts, target.chassisUuid])
      expect(pb).toContain(v);
    const original = tables['Port_Binding']?.where ?? [];
    const perPort = original.filter((c) => JSON.stringify(c).includes(`"${fixture.identity.logicalPort}"`));
    const perDp = original.filter((c) => JSON.stringify(c).includes(fixture.identity.datapathUuid));
    expect(replay['Port_Binding']?.where).toHaveLength(
      original.length + perPort.length * 2 + perDp.length * 1,
    );
    // Tables without a condition stay unconditional (all rows), as ovn-controller asked.
    expect(replay['Chassis']?.where).toBeUndefined();
  });

  it('refuses a capture without a monitor for the database, and a malformed fixture', () => {
    expect(() => monitorInEffect([{ method: 'echo', params: [] }], 'OVN_Southbound')).toThrow(
      /no monitor request for database OVN_Southbound/,
    );
    expect(() => parseMonitorCaptureFixture({ ...fixture, identity: {} })).toThrow(/chassisName/);
  });
});

describe('stats', () => {
  it('trimmed mean drops the ends', () => {
    expect(trimmedMean([100, 1, 2, 3, 4, 5, 6, 7, 8, -50], 0.1)).toBe(4.5);
  });

  it('linear fit: exact line has no deviation, a bent one has', () => {
    expect(
      linearFit([
        [10, 21],
        [100, 201],
        [1000, 2001],
      ]).maxDeviation,
    ).toBeCloseTo(0, 9);
    expect(
      linearFit([
        [10, 10],
        [100, 100],
        [1000, 5000],
      ]).maxDeviation,
    ).toBeGreaterThan(0.5);
  });
});

describe('scale topology', () => {
  it('gives each chassis its ports on the 10 switches of its group, tunnel keys unique per switch', () => {
    const t = buildTopology(30, 100);
    expect(t.ports).toHaveLength(3000);
    const keys = new Set(t.ports.map((p) => `${p.datapath}/${p.tunnelKey}`));
    expect(keys.size).toBe(3000);
    expect(new Set(t.ports.map((p) => p.name)).size).toBe(3000);
    const ofChassis12 = t.ports.filter((p) => p.chassis === 12);
    expect(new Set(ofChassis12.map((p) => p.datapath))).toEqual(new Set(datapathsOfChassis(t, 12)));
    expect(datapathsOfChassis(t, 12)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    // A switch spans the 10 chassis of its group with 100 ports.
    const onSwitch15 = t.ports.filter((p) => p.datapath === 15);
    expect(onSwitch15).toHaveLength(100);
    expect(new Set(onSwitch15.map((p) => p.chassis)).size).toBe(10);
  });

  it('refuses a chassis count that is not a multiple of the group, naming it', () => {
    expect(() => buildTopology(25, 10)).toThrow(/multiple of 10, got 25/);
  });
});
