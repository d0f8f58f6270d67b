/**
 * For tests that drive a `Reconciler` in-process with a FAKE in front of the OVS client: the
 * agent's own OVS and SB monitors on real servers, and a forwarding base for the FAKE.
 */
import {
  OvsdbClient,
  type ClientEvents,
  type TransactionBuilder,
  type TxnOutcome,
} from '../../../src/ovsdb/index.js';
import { OVS_MONITOR_TABLES, sbMonitorTables, type OvsReplica } from '../../../src/agent/index.js';

/** Starts OVS and SB clients with the monitors `startAgent` uses; resolves once both are synced. */
export async function startAgentReplicas(options: {
  readonly ovsRemote: string;
  readonly sbRemote: string;
  readonly chassis: string;
}): Promise<{ ovs: OvsdbClient; sb: OvsdbClient }> {
  const ovs = new OvsdbClient({
    remotes: options.ovsRemote,
    database: 'Open_vSwitch',
    tables: OVS_MONITOR_TABLES,
  });
  const sb = new OvsdbClient({
    remotes: options.sbRemote,
    database: 'OVN_Southbound',
    leaderOnly: false,
    tables: sbMonitorTables(options.chassis),
  });
  ovs.start();
  sb.start();
  await Promise.all([ovs.ready(), sb.ready()]);
  return { ovs, sb };
}

/** FAKE base: everything goes to the real OVS client except `transact`, which each FAKE decides. */
export abstract class ForwardingOvsReplica implements OvsReplica {
  constructor(readonly real: OvsdbClient) {}
  get state() {
    return this.real.state;
  }
  get seqno() {
    return this.real.seqno;
  }
  get currentRemote() {
    return this.real.currentRemote;
  }
  table(name: string) {
    return this.real.table(name);
  }
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): unknown {
    return this.real.on(event, listener);
  }
  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): unknown {
    return this.real.off(event, listener);
  }
  abstract transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome>;
}
