/**
 * The plug provider contract (DESIGN §3.3): the TypeScript rendering of OVN's `vif_plug_class`.
 *
 * A provider answers one question for the agent: "which interface should stand for this logical
 * port on this chassis?". The agent owns everything else (OVS transactions, ownership markers,
 * MTU, state reporting), so a provider never writes to a database.
 *
 * Contracts every provider must keep:
 * - `prepare()` is synchronous and non-blocking. Lookups come from tables that `run()` keeps fresh.
 *   A provider that cannot answer *now* returns {@link NotNow} with a reason a person can act on;
 *   it never throws for an expected miss (a throw is reported as `Failed` for that port only).
 * - An answer is a function of the provider's state and the request. For a port already plugged
 *   as answered, `prepare()` is asked again only when the port's rows change, after the provider
 *   reported a change of state (`run()` resolving `true`, or its change callback), and at the
 *   agent's periodic full replan (`--resync-interval`): a provider whose answers change must say
 *   so. Ports not plugged yet, blocked or failing are asked every round.
 * - `finish()` is called only after the transaction that applied the answer committed (for a
 *   transaction whose reply was lost: once the replica shows that it committed).
 * - `release()` is called exactly once for every `ready` answer that is no longer needed (after
 *   `finish`, or instead of it when the transaction failed or was abandoned), and before
 *   `destroy()`.
 */
import type { Logger } from './runtime.js';

/** Options as read from `Port_Binding.options` (all keys, not only the `vif-plug*` ones). */
export type LogicalPortOptions = Readonly<Record<string, string>>;

/** The Interface row the agent already has for this logical port, if any. */
export interface ExistingInterface {
  readonly name: string;
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
}

/**
 * The integration bridge as the local OVS DB shows it, so a provider can answer in the form the
 * bridge's datapath needs (e.g. `type=dpdk` on a userspace `netdev` bridge).
 */
export interface IntegrationBridgeInfo {
  readonly name: string;
  /** `Bridge.datapath_type`: `""`/`system` is the kernel datapath, `netdev` the userspace one. */
  readonly datapathType: string;
  /** `Open_vSwitch other_config` (e.g. `dpdk-init`, `doca-init`); empty when not known. */
  readonly ovsOtherConfig: Readonly<Record<string, string>>;
}

/** What the agent asks a provider. `create` also covers updates of an existing interface. */
export interface PlugRequest {
  readonly operation: 'create' | 'remove';
  /** `Port_Binding.logical_port`. */
  readonly logicalPort: string;
  readonly options: LogicalPortOptions;
  /** Present when the agent already owns an interface for this logical port. */
  readonly existing?: ExistingInterface;
  /**
   * The logical port's Ethernet address in lower case: the first word of the first
   * `Port_Binding.mac` entry when it is a unicast MAC (absent for `unknown`, `router`, `dynamic`).
   * Providers that program the address on hardware (e.g. the representor's host VF) use it.
   */
  readonly mac?: string;
  /** The integration bridge, when it exists (absent in tests and while it is missing). */
  readonly bridge?: IntegrationBridgeInfo;
  /**
   * Whether this port may take the interface named `interfaceName`: false while a port that stays
   * holds it (another wanted port, or an unwanted one whose removal is held and that this request
   * may not take over, DESIGN §3.4). A provider whose `prepare` acts on the device before answering
   * (e.g. programming a VF's MAC) asks first, so that a request that will be refused never changes a
   * device another port uses. Absent: no such knowledge (treat as true).
   */
  readonly mayClaim?: (interfaceName: string) => boolean;
}

/** A positive answer: the interface to plug (for `create`) or that may now go (for `remove`). */
export interface PlugReady {
  readonly kind: 'ready';
  /** Interface (and Port) name on the integration bridge. */
  readonly name: string;
  /** `Interface.type`; absent or "" means a system interface (a netdev such as a representor). */
  readonly type?: string;
  /** Interface options; only the keys in `maintainedIfaceOptions()` are reconciled. */
  readonly options: Readonly<Record<string, string>>;
  /**
   * Problems that do not stop the port from working (e.g. a port-function attribute the device
   * does not support). Shown with the port's status and counted by `code`; never a state.
   */
  readonly warnings?: readonly ProviderWarning[];
}

/** A problem on a port that otherwise works. */
export interface ProviderWarning {
  /** Short CamelCase word for metrics labels, e.g. `PortFunctionUnsupported`. */
  readonly code: string;
  /** Names the attribute and quotes the device's or devlink's words. */
  readonly message: string;
}

/** The provider cannot answer now; the port stays as it is, with this reason shown to operators. */
export interface NotNow {
  readonly kind: 'notNow';
  /** Human-readable, names the key and quotes the value at fault, e.g. `no PF with MAC "…"`. */
  readonly reason: string;
  /** Short CamelCase reason for conditions and metrics labels, e.g. `RepresentorNotFound`. */
  readonly code?: string;
  /**
   * True when waiting will not help: the device refused or contradicted the request (DESIGN §3.5,
   * e.g. it reports a different port-function value than was set). Shown as `Failed` instead of
   * `Pending`; the port keeps whatever interface it has, as for any not-now answer.
   */
  readonly failed?: boolean;
}

export type PlugAnswer = PlugReady | NotNow;

/**
 * What a provider sees of a plugged interface's link beyond OVS (e.g. a representor netdev's
 * operational state). `undefined` from {@link PlugProvider.linkState}: it cannot tell.
 */
export type LinkObservation = { readonly up: true } | { readonly up: false; readonly reason: string };

/** One plug target a provider could offer (for `ovn-plug-agent providers`, ovn-org/ovn#169). */
export interface InventoryItem {
  /** Stable identity inside the provider, e.g. `pf0/vf3` or `c1/pf0/vf3`. */
  readonly id: string;
  /** Netdev or interface name the agent would plug, when known. */
  readonly name?: string;
  /** Provider-specific details, e.g. `{ pfMac, controller, vfNum }`. */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

export interface ProviderInventory {
  readonly items: readonly InventoryItem[];
  /** Free-form notes, e.g. why a class of devices is not usable. */
  readonly notes?: readonly string[];
}

/** A plug provider. Only `type`, `maintainedIfaceOptions` and `prepare` are required. */
export interface PlugProvider {
  /** Matches `options:vif-plug-type` (or the older `plug-type`). */
  readonly type: string;
  /** Called once at registration. A rejection makes the provider *unavailable* with that reason. */
  init?(): void | Promise<void>;
  /** Called once at unregistration or agent exit. Must not unplug anything. */
  destroy?(): void | Promise<void>;
  /** Refreshes lookup tables; `true` means something changed and the agent should replan now. */
  run?(): boolean | Promise<boolean>;
  /** Interface option keys this provider owns; other keys on the row are left alone. */
  maintainedIfaceOptions(): readonly string[];
  prepare(request: PlugRequest): PlugAnswer;
  finish?(request: PlugRequest, answer: PlugReady): void;
  release?(request: PlugRequest, answer: PlugReady): void;
  /** What this provider could plug right now. */
  inventory?(): ProviderInventory;
  /**
   * The link of a plugged interface as the provider sees it, for the `Down` state (DESIGN §3.5).
   * Synchronous and cheap (a table `run()` keeps fresh): called for every plugged port each round.
   */
  linkState?(interfaceName: string): LinkObservation | undefined;
}

/**
 * Structured logger handed to providers: the runtime contract's {@link Logger} (a pino child fits;
 * tests pass a recording or no-op one). The name stays for providers written against it.
 */
export type ProviderLogger = Logger;

/** What the agent hands a provider class from an external module: `new ProviderClass(context)`. */
export interface ProviderContext {
  /** A child logger already bound to the provider module. */
  readonly logger: ProviderLogger;
}
