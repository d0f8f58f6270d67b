/**
 * Where the representor provider records the scalable functions it creates (ADR 0056): one
 * `Open_vSwitch external_ids` key per SF, `ovn-plug-agent-sf:<sf id>` = `<logical port>`, written
 * and committed *before* `devlink port add` runs and removed only after `devlink port del`
 * succeeded. A crash in between leaves a record, never an SF nobody knows about; an SF without a
 * record is never deleted. Providers never write databases themselves: this store is the agent's
 * part, handed to the provider as a capability.
 */
import { mutation, type OvsdbClient } from '../ovsdb/index.js';
import type { SfIntentStore, SfRecord } from '../providers/representor/index.js';
import { stringMap } from './replica-rows.js';

export const SF_RECORD_PREFIX = 'ovn-plug-agent-sf:';

export class OvsSfIntentStore implements SfIntentStore {
  readonly #ovs: Pick<OvsdbClient, 'table' | 'transact'>;

  constructor(ovs: Pick<OvsdbClient, 'table' | 'transact'>) {
    this.#ovs = ovs;
  }

  list(): readonly SfRecord[] {
    const row = this.#ovs.table('Open_vSwitch').all()[0];
    if (row === undefined) return [];
    return Object.entries(stringMap(row, 'external_ids'))
      .filter(([key]) => key.startsWith(SF_RECORD_PREFIX))
      .map(([key, logicalPort]) => ({ id: key.slice(SF_RECORD_PREFIX.length), logicalPort }));
  }

  /** Resolves once the record is committed; rejects with the server's words otherwise. */
  async record(record: SfRecord): Promise<void> {
    await this.#write(`record SF ${record.id} for ${record.logicalPort}`, (uuid, tx) =>
      tx.mutate('Open_vSwitch', uuid, [
        mutation('external_ids', 'insert', { [SF_RECORD_PREFIX + record.id]: record.logicalPort }),
      ]),
    );
    const written = this.list().find((r) => r.id === record.id);
    if (written?.logicalPort !== record.logicalPort) {
      throw new Error(
        `SF ${record.id} is recorded for ${JSON.stringify(written?.logicalPort ?? '')}, not ${JSON.stringify(record.logicalPort)}`,
      );
    }
  }

  async forget(id: string): Promise<void> {
    await this.#write(`forget SF ${id}`, (uuid, tx) =>
      tx.mutate('Open_vSwitch', uuid, [mutation('external_ids', 'delete', [SF_RECORD_PREFIX + id])]),
    );
  }

  async #write(
    what: string,
    build: (uuid: string, tx: Parameters<Parameters<OvsdbClient['transact']>[0]>[0]) => void,
  ): Promise<void> {
    const row = this.#ovs.table('Open_vSwitch').all()[0];
    if (row === undefined) throw new Error(`cannot ${what}: no Open_vSwitch row`);
    const outcome = await this.#ovs.transact((tx) => {
      build(row._uuid, tx);
      tx.comment(`ovn-plug-agent: ${what}`);
    });
    if (outcome.status !== 'success' && outcome.status !== 'unchanged') {
      const detail =
        'error' in outcome ? outcome.error : 'reason' in outcome ? outcome.reason : outcome.status;
      throw new Error(`cannot ${what}: transaction ${outcome.status} (${detail})`);
    }
  }
}
