/**
 * Public surface of src/ovsdb, our OVSDB client (RFC 7047 + Open vSwitch extensions). Nothing
 * outside src/ovsdb may import any other file of this folder, and this folder imports nothing
 * from the rest of the project.
 *
 * Typical use:
 *
 *   const sb = new OvsdbClient({
 *     remotes: 'ssl:10.0.0.1:6642,ssl:10.0.0.2:6642', database: 'OVN_Southbound',
 *     leaderOnly: false, tls: { caCertFile, certFile, privateKeyFile },
 *     tables: { Port_Binding: { columns: ['logical_port', 'options'], where: false } },
 *     indexes: [columnIndex('pb_by_name', 'Port_Binding', 'logical_port')],
 *   });
 *   sb.on('change', (batch) => ...);            // one batch per server message
 *   sb.start();
 *   const n = sb.setCondition('Port_Binding', [where('requested_chassis', '==', chassisUuid)]);
 *   await sb.waitForConditionSeqno(n);          // rows for the new condition are in the replica
 *   const outcome = await ovs.transact((tx) => { tx.verify(...); tx.insert(...); });
 *   // outcome.status: success | unchanged | tryAgain | notLocked | error | unknown (may have committed)
 *
 * Layers: `RpcConnection` (one JSON-RPC connection: framing, echo, probe, timeouts, cancel) and
 * `OvsdbClient` (reconnecting replica: _Server checks, monitor_cond_since, conditions,
 * transactions). Decisions: docs/adr/0010-0014 (connection/client), 0020-0022 (data layer).
 */
export {
  ClientClosedError,
  ConnectionClosedError,
  FramingError,
  OvsdbOptionsError,
  OvsdbRpcError,
  RemoteSyntaxError,
  RpcCanceledError,
  RpcTimeoutError,
  isKnownOvsdbErrorString,
} from './errors.js';
export type { OvsdbErrorString } from './errors.js';
export { DEFAULT_OVSDB_PORT, parseRemote, parseRemoteList } from './remote.js';
export type { RemoteEndpoint, RemoteList } from './remote.js';
export { DEFAULT_MAX_FRAME_BYTES, JsonStreamFramer, parseJsonLossless, stringifyJson } from './framer.js';
export type { FramerOptions } from './framer.js';
export { DEFAULT_PROBE_INTERVAL_MS, MIN_PROBE_INTERVAL_MS, RpcConnection, dialSocket } from './jsonrpc.js';
export type {
  PendingTransport,
  RequestOptions,
  RpcConnectionOptions,
  RpcDialer,
  RpcReply,
  RpcTransport,
  TlsFiles,
  TlsMaterial,
  TlsSource,
} from './jsonrpc.js';
export { realOvsdbTimers } from './timers.js';
export type { OvsdbTimer, OvsdbTimers } from './timers.js';
export { noopLogger } from './logger.js';
export type { OvsdbLogger } from './logger.js';
export { OvsdbClient } from './client.js';
export type {
  ClientEvents,
  ClientState,
  MonitorCondition,
  MonitorMethod,
  OvsdbClientOptions,
  TableMonitorSpec,
  TransactOptions,
} from './client.js';
export { TransactionBuilder, classifyTransactResult, mutation } from './transaction.js';
export type {
  IncrementHandle,
  Mutation,
  Mutator,
  OpHandle,
  PreparedTransaction,
  RowInput,
  RowSelector,
  SelectHandle,
  SelectedRow,
  TryAgainReason,
  TxnOutcome,
  TxnSuccess,
  WaitSpec,
  WriteHandle,
} from './transaction.js';
export { where, whereUuid } from './condition.js';
export type { Clause, ConditionClause, ConditionFunction } from './condition.js';
export { Replica, ReplicaInconsistencyError, columnIndex, mapKeyIndex } from './cache.js';
export type { ChangeBatch, IndexKey, IndexSpec, Row, RowChange, TableChanges, TableView } from './cache.js';
export { NamedUuid, DatumError } from './datum.js';
export type { Atom, Datum, Uuid } from './datum.js';
export { parseSchema, SchemaError, ZERO_UUID } from './schema.js';
export type { DatabaseSchema, TableSchema, ColumnSchema } from './schema.js';
