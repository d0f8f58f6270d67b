/**
 * The planner's input rows: plain, immutable shapes independent of the OVSDB client. The agent
 * maps its replica rows onto them (UUIDs as strings, optional columns as absent properties,
 * sets as arrays, maps as records).
 */

/** A Southbound `Port_Binding` row, reduced to what plugging decisions read. */
export interface SbPortBinding {
  readonly uuid: string;
  /** `logical_port`: the name that goes into `Interface.external_ids:iface-id`. */
  readonly logicalPort: string;
  /** `type`: only `""` (a VIF) can be plugged. */
  readonly type: string;
  /** `parent_port`: set for container ports, which are never plugged. */
  readonly parentPort?: string;
  /** `options`, all keys (not only the `vif-plug*` ones). */
  readonly options: Readonly<Record<string, string>>;
  /** `requested_chassis`: a Chassis row UUID. */
  readonly requestedChassis?: string;
  /** `requested_additional_chassis`: Chassis row UUIDs (live-migration destinations). */
  readonly requestedAdditionalChassis: readonly string[];
  /** `chassis`: where the port is bound now. */
  readonly chassis?: string;
  /** `up`. */
  readonly up?: boolean;
  /** `mac`: entries such as `"f0:00:00:00:00:01 10.0.0.1"`, `"unknown"`, `"router"`. */
  readonly mac?: readonly string[];
}

/** An Open vSwitch `Bridge` row. */
export interface OvsBridge {
  readonly uuid: string;
  readonly name: string;
  /** `ports`: Port row UUIDs. */
  readonly ports: readonly string[];
  /** `datapath_type` (`""`/`system` kernel, `netdev` userspace); absent when not monitored. */
  readonly datapathType?: string;
}

/** An Open vSwitch `Port` row. */
export interface OvsPort {
  readonly uuid: string;
  readonly name: string;
  /** `interfaces`: Interface row UUIDs. */
  readonly interfaces: readonly string[];
}

/** An Open vSwitch `Interface` row (never the `statistics` column). */
export interface OvsInterface {
  readonly uuid: string;
  readonly name: string;
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  readonly externalIds: Readonly<Record<string, string>>;
  /** `mtu_request`, absent when the column is empty. */
  readonly mtuRequest?: number;
  /** `ofport`, absent until ovs-vswitchd assigns one; -1 when it failed. */
  readonly ofport?: number;
  /** `error`, set by ovs-vswitchd when the interface cannot be opened. */
  readonly error?: string;
  /** `link_state` (`up`/`down`), as ovs-vswitchd reports it; absent when unknown. */
  readonly linkState?: string;
  /** `admin_state` (`up`/`down`), as ovs-vswitchd reports it; absent when unknown. */
  readonly adminState?: string;
}
