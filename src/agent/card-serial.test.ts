import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CardSerialPublisher, mergeCardSerial, parseVpdSerial, vpdPath } from './card-serial.js';
import { noopLogger } from './logger.js';
import {
  FIXTURE_FUNCTIONS,
  FIXTURE_SERIAL,
  fixtureVpdPath,
  vpdImage,
} from '../../test/fixtures/sysfs/vpd-image.js';

const SYSFS_ROOT = fileURLToPath(new URL('../../test/fixtures/sysfs/bluefield2', import.meta.url));
/** Hand-written VPD image (test/fixtures/sysfs/vpd-image.ts): serial space-padded to 24 bytes. */
const FIXTURE = new Uint8Array(readFileSync(vpdPath(SYSFS_ROOT, '0000:03:00.0')));

describe('parseVpdSerial', () => {
  it('the committed fixture files are what the generator writes, with a valid RV checksum', () => {
    for (const fn of FIXTURE_FUNCTIONS) {
      const bytes = readFileSync(fixtureVpdPath(fn));
      expect(bytes.equals(vpdImage(FIXTURE_SERIAL))).toBe(true);
      const rv = bytes.indexOf('RV');
      expect(bytes.subarray(0, rv + 4).reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
    }
  });

  it('reads the SN keyword of the fixture, padding trimmed', () => {
    expect(parseVpdSerial(FIXTURE)).toEqual({ serial: 'MT2109X00001' });
  });

  it('trims NUL padding too', () => {
    const image = Buffer.from(FIXTURE);
    const at = image.indexOf('MT2109X00001') + 'MT2109X00001'.length;
    image.fill(0, at, at + 12);
    expect(parseVpdSerial(image)).toEqual({ serial: 'MT2109X00001' });
  });

  it('names what is wrong with an image without SN, an empty one, and a truncated one', () => {
    expect(parseVpdSerial(new Uint8Array([0x78]))).toEqual({
      problem: 'VPD has no "SN" (serial number) keyword',
    });
    expect(parseVpdSerial(new Uint8Array())).toEqual({ problem: 'VPD has no "SN" (serial number) keyword' });
    expect(parseVpdSerial(FIXTURE.subarray(0, 60))).toEqual({
      problem: 'VPD resource 0x90 at byte 46 claims 56 bytes, 11 present',
    });
    expect(parseVpdSerial(FIXTURE.subarray(0, 47))).toEqual({
      problem: 'VPD is truncated in the resource header at byte 46',
    });
    const blank = Buffer.from(FIXTURE);
    const at = blank.indexOf('MT2109X00001');
    blank.fill(0x20, at, at + 12);
    expect(parseVpdSerial(blank)).toEqual({ problem: 'VPD keyword "SN" is empty' });
  });

  it('property: any byte string, and any prefix or corruption of the fixture, gives a serial or a reason, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = parseVpdSerial(bytes);
        expect('serial' in result ? result.serial.length > 0 : result.problem.length > 0).toBe(true);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.nat(FIXTURE.length),
        fc.array(fc.tuple(fc.nat(FIXTURE.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (cut, flips) => {
          const image = Buffer.from(FIXTURE.subarray(0, cut));
          for (const [index, value] of flips) if (index < image.length) image[index] = value;
          const result = parseVpdSerial(image);
          if ('serial' in result) expect(result.serial).toMatch(/^[\x21-\x7e]+$/);
          else expect(result.problem).not.toBe('');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('mergeCardSerial', () => {
  it('adds the serial to nothing, or after the existing options in their order', () => {
    expect(mergeCardSerial(undefined, 'SN1')).toEqual({ kind: 'set', value: 'card-serial-number=SN1' });
    expect(mergeCardSerial('', 'SN1')).toEqual({ kind: 'set', value: 'card-serial-number=SN1' });
    expect(mergeCardSerial('enable-chassis-as-gw,availability-zones=az1:az2', 'SN1')).toEqual({
      kind: 'set',
      value: 'enable-chassis-as-gw,availability-zones=az1:az2,card-serial-number=SN1',
    });
  });

  it('is a no-op when the same serial is there, and never duplicates it', () => {
    expect(mergeCardSerial('enable-chassis-as-gw,card-serial-number=SN1', 'SN1')).toEqual({
      kind: 'present',
    });
    expect(mergeCardSerial(' card-serial-number=SN1 ', 'SN1')).toEqual({ kind: 'present' });
  });

  it('leaves a different serial alone and says which', () => {
    expect(mergeCardSerial('card-serial-number=OPERATOR', 'SN1')).toEqual({
      kind: 'conflict',
      existing: 'OPERATOR',
    });
  });

  it('property: merging is idempotent and keeps every other option', () => {
    const option = fc
      .stringMatching(/^[a-z][a-z0-9:=-]{0,12}$/)
      .filter((o) => !o.startsWith('card-serial-number'));
    fc.assert(
      fc.property(
        fc.array(option, { maxLength: 5 }),
        fc.stringMatching(/^[A-Z0-9]{1,16}$/),
        (options, serial) => {
          const first = mergeCardSerial(options.join(','), serial);
          expect(first.kind).toBe('set');
          if (first.kind !== 'set') return;
          expect(first.value.split(',').slice(0, -1)).toEqual(options);
          expect(mergeCardSerial(first.value, serial)).toEqual({ kind: 'present' });
        },
      ),
    );
  });
});

describe('CardSerialPublisher with a FAKE OVS client', () => {
  function fakeOvs(externalIds: Record<string, string>): {
    ovs: ConstructorParameters<typeof CardSerialPublisher>[0]['ovs'];
    writes: string[];
  } {
    const writes: string[] = [];
    const row = { _uuid: 'ovs-row', external_ids: new Map(Object.entries(externalIds)) };
    const ovs = {
      state: 'monitoring',
      table: () => ({ all: () => [row] }),
      on: () => undefined,
      off: () => undefined,
      transact: (build: (tx: unknown) => void) => {
        build({
          verify: () => undefined,
          comment: () => undefined,
          mutate: (_t: string, _u: string, mutations: { mutator: string; value: unknown }[]) => {
            for (const m of mutations) if (m.mutator === 'insert') writes.push(JSON.stringify(m.value));
          },
        });
        return Promise.resolve({ status: 'success' });
      },
    };
    return { ovs: ovs as unknown as ConstructorParameters<typeof CardSerialPublisher>[0]['ovs'], writes };
  }

  it('reads an unreadable VPD again after 60 s, then publishes', async () => {
    let now = 0;
    let readable = false;
    const { ovs, writes } = fakeOvs({ 'ovn-cms-options': 'enable-chassis-as-gw' });
    const publisher = new CardSerialPublisher({
      ovs,
      sysfsRoot: '/sys-fixture',
      candidates: () => ['0000:03:00.0'],
      logger: noopLogger,
      now: () => now,
      readBytes: () => (readable ? Promise.resolve(FIXTURE) : Promise.reject(new Error('EIO'))),
    });
    publisher.poke();
    await publisher.idle();
    expect(publisher.status).toEqual({
      state: 'unreadable',
      message: 'no card serial: /sys-fixture/bus/pci/devices/0000:03:00.0/vpd is not readable (EIO)',
    });
    readable = true;
    now = 59_000;
    publisher.poke();
    await publisher.idle();
    expect(publisher.status.state).toBe('unreadable');
    now = 61_000;
    publisher.poke();
    await publisher.idle();
    expect(publisher.status.state).toBe('published');
    expect(writes).toEqual([
      JSON.stringify({ 'ovn-cms-options': 'enable-chassis-as-gw,card-serial-number=MT2109X00001' }),
    ]);
  });
});
