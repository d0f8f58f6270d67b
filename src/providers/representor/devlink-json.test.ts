import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DevlinkMonitorParser,
  DevlinkOutputError,
  parseMonitorEvent,
  parsePortEntry,
  parsePortShowOutput,
} from './devlink-json.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../test/fixtures/devlink/${name}`, import.meta.url), 'utf8');

describe('parsePortShowOutput', () => {
  it('reads a BlueField-2 dump: uplink, host PF with hw_addr and controller 1, VFs', () => {
    const { ports, problems } = parsePortShowOutput(fixture('bluefield2-dpu.port-show.json'));
    expect(problems).toEqual([]);
    expect(ports).toHaveLength(8);
    expect(ports.find((p) => p.netdev === 'pf0hpf')).toEqual({
      handle: 'pci/0000:03:00.0/196607',
      device: 'pci/0000:03:00.0',
      index: 196607,
      type: 'eth',
      netdev: 'pf0hpf',
      flavour: 'pcipf',
      controller: 1,
      pfnum: 0,
      external: true,
      hwAddr: '08:c0:eb:c4:2a:10',
    });
    expect(ports.find((p) => p.netdev === 'pf0vf3')).toMatchObject({
      flavour: 'pcivf',
      controller: 1,
      vfnum: 3,
    });
    expect(ports.find((p) => p.netdev === 'p0')).toMatchObject({ flavour: 'physical', portNumber: 0 });
  });

  it('reads SF ports with their sfnum and netdevsim handles', () => {
    const sfs = parsePortShowOutput(fixture('bluefield2-dpu-sfs.port-show.json')).ports;
    expect(sfs.find((p) => p.sfnum === 88)).toMatchObject({
      flavour: 'pcisf',
      netdev: 'en3f0c1pf0sf88',
      hwAddr: '00:00:00:00:88:88',
    });
    const nsim = parsePortShowOutput(fixture('netdevsim.port-show.json')).ports;
    expect(nsim.find((p) => p.flavour === 'pcipf')).toMatchObject({
      device: 'netdevsim/netdevsim10',
      index: 10,
    });
  });

  it('reads a port without netdev (type notset)', () => {
    const ports = parsePortShowOutput(fixture('netdevsim-vf3-no-netdev.port-show.json')).ports;
    const vf3 = ports.find((p) => p.vfnum === 3);
    expect(vf3).toMatchObject({ type: 'notset' });
    expect(vf3?.netdev).toBeUndefined();
  });

  it('treats an empty dump as no ports', () => {
    expect(parsePortShowOutput('{}').ports).toEqual([]);
    expect(parsePortShowOutput('{"port":{}}').ports).toEqual([]);
  });

  it('rejects output that is not JSON, quoting it', () => {
    expect(() => parsePortShowOutput('Failed to connect')).toThrow(/printed no JSON: "Failed to connect"/);
    expect(() => parsePortShowOutput('[1]')).toThrow(DevlinkOutputError);
  });

  it('skips a malformed port, names the handle, field and value, and keeps the others', () => {
    const text = JSON.stringify({
      port: {
        'pci/0000:03:00.0/1': { flavour: 'pcivf', pfnum: 0, vfnum: 'seven' },
        'pci/0000:03:00.0/2': { flavour: 'pcivf', pfnum: 0, vfnum: 2, netdev: 'pf0vf2' },
      },
    });
    const { ports, problems } = parsePortShowOutput(text);
    expect(ports.map((p) => p.netdev)).toEqual(['pf0vf2']);
    expect(problems).toEqual([
      'devlink port pci/0000:03:00.0/1: "vfnum" is not a non-negative integer: "seven"',
    ]);
  });

  it('rejects bad handles and hw_addr values with the value quoted', () => {
    expect(() => parsePortEntry('pf0vf0', {})).toThrow(
      'devlink port handle is not "bus/device/index": "pf0vf0"',
    );
    expect(() => parsePortEntry('pci/x/1', { function: { hw_addr: 'zz' } })).toThrow(
      'devlink port pci/x/1: "function.hw_addr" is not an address: "zz"',
    );
    expect(() => parsePortEntry('pci/x/1', { external: 'yes' })).toThrow(
      '"external" is not a boolean: "yes"',
    );
  });
});

describe('parseMonitorEvent', () => {
  it('reads a port event and ignores events about other objects', () => {
    const event = parseMonitorEvent({ command: 'del', port: { 'pci/x/3': { flavour: 'pcivf' } } });
    expect(event).toMatchObject({ command: 'del', port: { handle: 'pci/x/3' } });
    expect(parseMonitorEvent({ command: 'new', dev: { 'pci/x': {} } })).toBeUndefined();
  });

  it('rejects unknown commands and events naming several ports', () => {
    expect(() => parseMonitorEvent({ command: 'frob', port: {} })).toThrow('unknown command: "frob"');
    expect(() => parseMonitorEvent({ command: 'new', port: { 'a/b/1': {}, 'a/b/2': {} } })).toThrow(
      /exactly one port, got 2/,
    );
  });
});

describe('DevlinkMonitorParser', () => {
  const stream = fixture('bluefield2-vf-hotplug.monitor.json');
  const summary = (
    events: readonly { command: string; port: { handle: string; netdev?: string } }[],
  ): string[] => events.map((e) => `${e.command} ${e.port.handle} ${e.port.netdev ?? '-'}`);
  const expected = [
    'new pci/0000:03:00.0/196612 eth7',
    'new pci/0000:03:00.0/196612 pf0vf4',
    'new pci/0000:03:00.0/196611 -',
    'del pci/0000:03:00.0/196611 -',
  ];

  it('reads devlink\'s never-closed {"mon":[ framing in one chunk', () => {
    const result = new DevlinkMonitorParser().push(stream);
    expect(result.problems).toEqual([]);
    expect(summary(result.events)).toEqual(expected);
  });

  it('yields each event as soon as it is complete when fed one character at a time', () => {
    const parser = new DevlinkMonitorParser();
    const seen: string[] = [];
    let firstCompleteAt = -1;
    [...stream].forEach((char, i) => {
      const { events } = parser.push(char);
      if (events.length > 0 && firstCompleteAt < 0) firstCompleteAt = i;
      seen.push(...summary(events));
    });
    expect(seen).toEqual(expected);
    expect(stream[firstCompleteAt + 1]).toBe(',');
  });

  it('reads newline-delimited events and the closing ]} devlink prints on exit', () => {
    const ndjson = fixture('bluefield2-vf-hotplug.events.ndjson');
    expect(summary(new DevlinkMonitorParser().push(ndjson).events)).toEqual(expected);
    const parser = new DevlinkMonitorParser();
    expect(parser.push(`${stream}]}\n`).events).toHaveLength(4);
    expect(summary(parser.push(stream).events)).toEqual(expected);
  });

  it('is not confused by braces and quotes inside strings', () => {
    const event = '{"command":"new","port":{"pci/x/1":{"netdev":"we\\"ird}{","flavour":"pcivf"}}}';
    const { events } = new DevlinkMonitorParser().push(`{ "mon" : [${event},${event}`);
    expect(events.map((e) => e.port.netdev)).toEqual(['we"ird}{', 'we"ird}{']);
  });

  it('gives up on an event that never ends instead of buffering without bound', () => {
    const parser = new DevlinkMonitorParser();
    const { problems } = parser.push(
      `{"mon":[{"command":"new","port":{"pci/x/1":{"netdev":"${'x'.repeat(1 << 20)}`,
    );
    expect(problems).toEqual([
      'devlink monitor printed an event longer than 1048576 characters; resynchronising',
    ]);
    const next = parser.push('"}}}\n{"command":"del","port":{"pci/x/2":{}}}\n');
    expect(next.events.map((e) => `${e.command} ${e.port.handle}`)).toEqual(['del pci/x/2']);
  });

  it('reports a malformed event and goes on with the next', () => {
    const bad = '{"command":"new","port":{"pci/x/1":{"vfnum":-1}}}';
    const good = '{"command":"del","port":{"pci/x/2":{}}}';
    const { events, problems } = new DevlinkMonitorParser().push(`{"mon":[${bad},${good}`);
    expect(summary(events)).toEqual(['del pci/x/2 -']);
    expect(problems).toEqual(['devlink port pci/x/1: "vfnum" is not a non-negative integer: -1']);
  });
});
