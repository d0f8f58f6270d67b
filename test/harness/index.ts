// Public surface of the real-server test harness (docs/testing.md).
export { waitUntil, delay, WaitTimeoutError, AbortWait } from './wait.js';
export type { WaitOptions } from './wait.js';
export { runCommand, CommandError, quoteArg } from './exec.js';
export type { CommandOutput, RunOptions } from './exec.js';
export { toolEnv, TOOL_PATH } from './env.js';
export { makeWorkDir, removeWorkDir } from './tempdir.js';
export type { WorkDir } from './tempdir.js';
export {
  SupervisedProcess,
  ProcessRegistry,
  ProcessStartError,
  defaultRegistry,
  processesMentioning,
} from './process.js';
export type { ProcessSpec, ExitStatus, Stoppable } from './process.js';
export { canConnectUnix, pickFreePort, listeningPortsInLog } from './net.js';
export { parseCtlTable, decodeValue, asStringMap, optionalValue } from './ctl-json.js';
export type { CtlRow } from './ctl-json.js';
export { startOvsdbServer, launchOvsdbServer, schemaName } from './ovsdb-server.js';
export type {
  OvsdbServer,
  OvsdbServerOptions,
  LaunchOptions,
  RemoteKind,
  OperationResult,
} from './ovsdb-server.js';
export { startRaftCluster, parseClusterStatus } from './raft.js';
export type { RaftCluster, RaftClusterOptions, RaftMember, RaftMemberStatus } from './raft.js';
export { createPki } from './pki.js';
export type { Pki } from './pki.js';
export { startOvnCentral, stopAllReverse, OVN_NB_SCHEMA, OVN_SB_SCHEMA } from './ovn-central.js';
export type { OvnCentral, OvnCentralOptions } from './ovn-central.js';
export { startVswitchd, VSWITCH_SCHEMA } from './vswitchd.js';
export type { Vswitchd, VswitchdOptions } from './vswitchd.js';
export { startOvnController } from './ovn-controller.js';
export type { OvnController, OvnControllerOptions, SouthboundEndpoint } from './ovn-controller.js';
export {
  startSandbox,
  lspAdd,
  getPortBinding,
  portBindingChassisName,
  waitPortBindingUp,
  interfacesForLogicalPort,
} from './sandbox.js';
export type { Sandbox, SandboxOptions, SandboxNode, LspAddOptions } from './sandbox.js';
export { useHarness, useSandbox } from './hooks.js';
export type { SuiteHooks } from './hooks.js';
export { startOvsdbRelay } from './relay.js';
export type { OvsdbRelayOptions } from './relay.js';
