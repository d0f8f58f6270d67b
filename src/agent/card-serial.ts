/**
 * The DPU's card serial number for Neutron/Nova remote-managed ports (DESIGN §3.7, ADR 0055).
 *
 * Nova sends the serial of the DPU a VF belongs to; Neutron binds the port to the chassis whose
 * SB `Chassis other_config:ovn-cms-options` holds `card-serial-number=<serial>`. ovn-controller
 * copies that option from `Open_vSwitch external_ids:ovn-cms-options`, so the agent publishes the
 * serial there:
 *
 * - The serial is the `SN` keyword of the PCI VPD (read-only section) of the eswitch PCI devices
 *   devlink shows on the DPU side (`<sysfs>/bus/pci/devices/<address>/vpd`); padding (spaces,
 *   NULs) is trimmed. All functions of one card carry the same serial; two different serials are
 *   reported and nothing is published.
 * - The option list is merged: other options stay as they are, in their order; an existing equal
 *   `card-serial-number` makes the write a no-op (idempotent across restarts); a *different* one
 *   (set by an operator) is left alone and reported.
 * - The write is guarded by a verify of `external_ids`, so a concurrent writer is never clobbered:
 *   the next change of the row triggers a fresh merge.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { mutation, type OvsdbClient, type Row } from '../ovsdb/index.js';
import type { Logger } from './logger.js';
import { stringMap } from './replica-rows.js';

export const CMS_OPTIONS_KEY = 'ovn-cms-options';
export const CARD_SERIAL_OPTION = 'card-serial-number';

// ---- PCI VPD (pure) ------------------------------------------------------------------------

/** Large resource tags of PCI VPD (PCI Local Bus spec, "Vital Product Data"). */
const TAG_ID_STRING = 0x82;
const TAG_VPD_R = 0x90;
const TAG_VPD_W = 0x91;
/** Small resource "End" tag (name 0xF, length 0). */
const TAG_END = 0x78;

export type VpdSerial = { readonly serial: string } | { readonly problem: string };

function trimPadding(text: string): string {
  return text.replace(/^[\s\0]+|[\s\0]+$/g, '');
}

/**
 * Finds the `SN` keyword in a PCI VPD image. Malformed or truncated data gives a problem naming
 * the byte offset, never an exception.
 */
export function parseVpdSerial(vpd: Uint8Array): VpdSerial {
  let offset = 0;
  while (offset < vpd.length) {
    const tag = vpd[offset] ?? 0;
    if (tag === TAG_END) break;
    if ((tag & 0x80) === 0) {
      // Other small resources: skip by their 3-bit length.
      offset += 1 + (tag & 0x07);
      continue;
    }
    if (offset + 3 > vpd.length)
      return { problem: `VPD is truncated in the resource header at byte ${offset}` };
    const length = (vpd[offset + 1] ?? 0) | ((vpd[offset + 2] ?? 0) << 8);
    const start = offset + 3;
    const end = start + length;
    if (end > vpd.length) {
      return {
        problem: `VPD resource 0x${tag.toString(16)} at byte ${offset} claims ${length} bytes, ${vpd.length - start} present`,
      };
    }
    if (tag === TAG_VPD_R || tag === TAG_VPD_W) {
      let k = start;
      while (k + 3 <= end) {
        const keyword = String.fromCharCode(vpd[k] ?? 0, vpd[k + 1] ?? 0);
        const size = vpd[k + 2] ?? 0;
        const valueEnd = k + 3 + size;
        if (valueEnd > end) {
          return { problem: `VPD keyword "${keyword}" at byte ${k} claims ${size} bytes past its section` };
        }
        if (keyword === 'SN') {
          const serial = trimPadding(Buffer.from(vpd.subarray(k + 3, valueEnd)).toString('latin1'));
          if (serial === '') return { problem: 'VPD keyword "SN" is empty' };
          if (!/^[\x21-\x7e]+$/.test(serial))
            return { problem: `VPD serial ${JSON.stringify(serial)} is not printable` };
          return { serial };
        }
        k = valueEnd;
      }
    } else if (tag !== TAG_ID_STRING) {
      // Unknown large resource: skipped by its length.
    }
    offset = end;
  }
  return { problem: 'VPD has no "SN" (serial number) keyword' };
}

export function vpdPath(sysfsRoot: string, pciAddress: string): string {
  return join(sysfsRoot, 'bus', 'pci', 'devices', pciAddress, 'vpd');
}

// ---- ovn-cms-options merge (pure) -----------------------------------------------------------

export type CmsOptionsMerge =
  | { readonly kind: 'present' }
  | { readonly kind: 'conflict'; readonly existing: string }
  | { readonly kind: 'set'; readonly value: string };

/**
 * Adds `card-serial-number=<serial>` to an `ovn-cms-options` value (comma-separated), keeping
 * every other option and its order.
 */
export function mergeCardSerial(current: string | undefined, serial: string): CmsOptionsMerge {
  const items = (current ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const prefix = `${CARD_SERIAL_OPTION}=`;
  const existing = items.filter((item) => item.startsWith(prefix)).map((item) => item.slice(prefix.length));
  if (existing.length > 0) {
    return existing.every((value) => value === serial)
      ? { kind: 'present' }
      : { kind: 'conflict', existing: existing.join(', ') };
  }
  return { kind: 'set', value: [...items, `${prefix}${serial}`].join(',') };
}

// ---- publisher (I/O) ------------------------------------------------------------------------

/**
 * `published`: the serial is in `ovn-cms-options` (this agent wrote it, or found it there);
 * `conflict`: a different serial is there (left alone); `ambiguous`: the card's functions report
 * different serials; `unreadable`: no VPD gave a serial; `unknown`: no DPU device known (yet).
 */
export type CardSerialState = 'unknown' | 'published' | 'conflict' | 'ambiguous' | 'unreadable';
const STATES: readonly CardSerialState[] = ['unknown', 'published', 'conflict', 'ambiguous', 'unreadable'];

export interface CardSerialStatus {
  readonly state: CardSerialState;
  readonly serial?: string;
  /** Human-readable: what was done or why nothing was. */
  readonly message: string;
}

export interface CardSerialPublisherOptions {
  readonly ovs: Pick<OvsdbClient, 'table' | 'transact' | 'state' | 'on' | 'off'>;
  readonly sysfsRoot: string;
  /** PCI addresses of the DPU's eswitch devices (from the representor provider's devlink table). */
  readonly candidates: () => readonly string[];
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Reads a sysfs file as bytes. Default `fs.promises.readFile`. */
  readonly readBytes?: (path: string) => Promise<Uint8Array>;
  /** Milliseconds clock. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Publishes the card serial whenever the candidate devices or the Open_vSwitch row change. One
 * pass runs at a time; a poke during a pass makes one more pass afterwards.
 */
export class CardSerialPublisher {
  readonly #o: CardSerialPublisherOptions;
  readonly #readBytes: (path: string) => Promise<Uint8Array>;
  /** VPD results by PCI address; a serial is kept for good, a problem only until `#retryAt`. */
  readonly #serials = new Map<string, VpdSerial>();
  readonly #retryAt = new Map<string, number>();
  readonly #gauge: Gauge<'state'> | undefined;
  /** The serial this agent wrote, so later passes still say who put it there. */
  #written: string | undefined;
  #status: CardSerialStatus = { state: 'unknown', message: 'no DPU eswitch PCI device known yet' };
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #onChange = (): void => this.poke();

  constructor(options: CardSerialPublisherOptions) {
    this.#o = options;
    this.#readBytes = options.readBytes ?? ((path) => readFile(path));
    this.#gauge =
      options.registry === undefined
        ? undefined
        : new Gauge({
            name: 'ovn_plug_card_serial_state',
            help: 'Card serial publication in ovn-cms-options: 1 for the current state (published, conflict, ambiguous, unreadable, unknown)',
            labelNames: ['state'],
            registers: [options.registry],
          });
    this.#setStatus(this.#status);
  }

  start(): void {
    this.#o.ovs.on('change', this.#onChange);
    this.poke();
  }

  /** Stops reacting to changes and waits for a pass in flight (never removes what it wrote). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#o.ovs.off('change', this.#onChange);
    await this.idle();
  }

  get status(): CardSerialStatus {
    return this.#status;
  }

  /** Resolves when the passes started so far are done (for tests). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  poke(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass()
      .catch((error: unknown) => {
        this.#o.logger.warn({ err: error }, 'card serial: publishing failed');
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }

  async #pass(): Promise<void> {
    const candidates = [...new Set(this.#o.candidates())].sort();
    if (candidates.length === 0) {
      this.#setStatus({ state: 'unknown', message: 'devlink shows no DPU eswitch PCI device' });
      return;
    }
    for (const address of candidates) {
      const known = this.#serials.get(address);
      if (
        known !== undefined &&
        ('serial' in known || (this.#retryAt.get(address) ?? 0) > (this.#o.now ?? Date.now)())
      )
        continue;
      const path = vpdPath(this.#o.sysfsRoot, address);
      let result: VpdSerial;
      try {
        result = parseVpdSerial(await this.#readBytes(path));
      } catch (error) {
        result = {
          problem: `${path} is not readable (${error instanceof Error ? error.message : String(error)})`,
        };
      }
      if ('problem' in result && !result.problem.startsWith(path))
        result = { problem: `${path}: ${result.problem}` };
      this.#serials.set(address, result);
      // A VPD that could not be read (driver still loading, transient EIO) is read again later.
      if ('problem' in result) this.#retryAt.set(address, (this.#o.now ?? Date.now)() + 60_000);
    }
    const found = new Map<string, string[]>();
    const problems: string[] = [];
    for (const address of candidates) {
      const result = this.#serials.get(address);
      if (result === undefined) continue;
      if ('serial' in result) found.set(result.serial, [...(found.get(result.serial) ?? []), address]);
      else problems.push(result.problem);
    }
    if (found.size === 0) {
      this.#setStatus({ state: 'unreadable', message: `no card serial: ${problems.join('; ')}` });
      return;
    }
    if (found.size > 1) {
      const list = [...found].map(([serial, addresses]) => `${serial} (${addresses.join(', ')})`).join('; ');
      this.#setStatus({
        state: 'ambiguous',
        message: `eswitch devices report different serials: ${list}; publishing none`,
      });
      return;
    }
    const serial = [...found.keys()][0] ?? '';
    await this.#publish(serial);
  }

  async #publish(serial: string): Promise<void> {
    if (this.#o.ovs.state !== 'monitoring') return;
    const row: Row | undefined = this.#o.ovs.table('Open_vSwitch').all()[0];
    if (row === undefined) return;
    const current = stringMap(row, 'external_ids')[CMS_OPTIONS_KEY];
    const merge = mergeCardSerial(current, serial);
    if (merge.kind === 'present') {
      const how = this.#written === serial ? 'written by this agent' : 'found there, not rewritten';
      this.#setStatus({
        state: 'published',
        serial,
        message: `${CARD_SERIAL_OPTION}=${serial} is in ${CMS_OPTIONS_KEY} (${how})`,
      });
      return;
    }
    if (merge.kind === 'conflict') {
      this.#setStatus({
        state: 'conflict',
        serial,
        message: `${CMS_OPTIONS_KEY} already names ${CARD_SERIAL_OPTION}=${merge.existing}, but the card's VPD says ${serial}; left as set`,
      });
      return;
    }
    const outcome = await this.#o.ovs.transact((tx) => {
      tx.verify('Open_vSwitch', row, ['external_ids']);
      tx.mutate('Open_vSwitch', row._uuid, [
        mutation('external_ids', 'delete', [CMS_OPTIONS_KEY]),
        mutation('external_ids', 'insert', { [CMS_OPTIONS_KEY]: merge.value }),
      ]);
      tx.comment(`ovn-plug-agent: publish ${CARD_SERIAL_OPTION}`);
    });
    if (outcome.status === 'success') {
      this.#written = serial;
      this.#setStatus({
        state: 'published',
        serial,
        message: `${CARD_SERIAL_OPTION}=${serial} is in ${CMS_OPTIONS_KEY} (written by this agent)`,
      });
    } else if (outcome.status === 'tryAgain' || outcome.status === 'unknown') {
      // The row changed under us (or the connection dropped): the replica's next change (the
      // other writer's update, or the resync after reconnecting) pokes a new pass.
    } else {
      this.#o.logger.warn({ outcome }, 'card serial: writing ovn-cms-options failed');
    }
  }

  #setStatus(status: CardSerialStatus): void {
    const changed = status.state !== this.#status.state || status.message !== this.#status.message;
    this.#status = status;
    if (this.#gauge !== undefined)
      for (const state of STATES) this.#gauge.set({ state }, state === status.state ? 1 : 0);
    if (!changed) return;
    const fields = { state: status.state, ...(status.serial === undefined ? {} : { serial: status.serial }) };
    if (status.state === 'published') this.#o.logger.info(fields, `card serial: ${status.message}`);
    else if (status.state !== 'unknown') this.#o.logger.warn(fields, `card serial: ${status.message}`);
  }
}
