export { REPRESENTOR_PROVIDER_TYPE, RepresentorProvider, createRepresentorProvider } from './provider.js';
export type { BackoffOptions, RepresentorProviderOptions } from './provider.js';
export {
  DevlinkMonitorParser,
  DevlinkOutputError,
  parseMonitorEvent,
  parsePortEntry,
  parsePortShowOutput,
} from './devlink-json.js';
export type {
  DevlinkPort,
  DevlinkPortCommand,
  DevlinkPortEvent,
  MonitorChunkResult,
  PortDump,
} from './devlink-json.js';
export { buildPortTable, lacksNetdev, pfId, pfsNeedingFallbackMac, uplinkForPf } from './port-table.js';
export type {
  FallbackMac,
  FunctionFlavour,
  FunctionPort,
  HostPf,
  PfMacSource,
  PortTable,
} from './port-table.js';
export {
  PF_MAC_OPTION,
  SF_NUM_OPTION,
  VF_NUM_OPTION,
  describePf,
  formatNumberRanges,
  lookupRepresentor,
  parseSelector,
} from './lookup.js';
export type { RepresentorMatch, RepresentorNotNowCode, RepresentorSelector } from './lookup.js';
export { parseSmartNicPfConfig, smartNicPfConfigPath } from './sysfs.js';
export { CommandError, globalTimers, runCommand, spawnProcess } from './process.js';
export type { CommandResult, SpawnProcess, SpawnedProcess, Timers } from './process.js';
export {
  DPDK_DEVARGS_OPTION,
  DPDK_INTERFACE_TYPE,
  datapathMode,
  dpdkDevargs,
  dpdkRepresentorSpec,
  parseDpdkRepresentorSpec,
  pciAddressOf,
  representorFunction,
} from './dpdk.js';
export type {
  DpdkRepresentorSyntax,
  ParsedRepresentor,
  RepresentorDatapathMode,
  RepresentorDatapathSetting,
  RepresentorFunction,
} from './dpdk.js';
export { SF_ADD_OPTION, sfAddArgs, sfId, wantsSfAdd } from './scalable-functions.js';
export type { SfIntentStore, SfRecord } from './scalable-functions.js';
export {
  MIGRATABLE_OPTION,
  ROCE_OPTION,
  UNSUPPORTED_PATTERN,
  portFunctionSettings,
} from './port-function.js';
export type { PortFunctionAttribute, PortFunctionSetting } from './port-function.js';
