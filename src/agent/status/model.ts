/**
 * The per-port status model (DESIGN §3.5).
 *
 * The reconciler knows, after every planning round, a set of facts per logical port: what the
 * planner decided (blocked with a reason, or nothing to do), whether a transaction touching the
 * port is in flight, whether the last one failed, and what the OVS Interface row and the SB
 * Port_Binding say. {@link derivePortState} turns those facts into one state with a CamelCase
 * reason and a human message; {@link PortStatusModel} keeps the history that facts alone do not
 * carry: when the port was first seen, since when it is in its state, and the plug and bind
 * latencies.
 *
 * The model is level-triggered like the reconciler: every `update()` receives the complete set of
 * ports of interest; a port missing from the set is gone (unplugged or no longer wanted and never
 * owned) and leaves the model with a transition to `undefined`.
 */
import {
  describeHoldCause,
  type AgentReason,
  type HoldCause,
  type PortReason,
  type PortState,
} from '../../plug/index.js';
import { PLUGGED_BY_OVN_CONTROLLER, type PortStatus } from './types.js';

/** What the OVS Interface row owned for (or blocking) the port says. */
export interface InterfaceFacts {
  readonly name: string;
  /** `Interface.ofport`: absent while ovs-vswitchd has not assigned one, -1 on failure. */
  readonly ofport?: number;
  /** `Interface.error`, verbatim. */
  readonly error?: string;
  /** `external_ids:ovn-installed=true`, set by ovn-controller once flows are installed. */
  readonly ovnInstalled: boolean;
  /** `Interface.link_state`, verbatim (`up`/`down`), when ovs-vswitchd reports it. */
  readonly linkState?: string;
  /** `Interface.admin_state`, verbatim (`up`/`down`), when ovs-vswitchd reports it. */
  readonly adminState?: string;
  /** What the provider sees of the link (e.g. the representor netdev's operstate). */
  readonly providerLink?: { readonly up: false; readonly reason: string };
}

/** The reconciler's view of one port in one round. */
export type PortPhase =
  /** The planner blocked the port (provider not ready, conflict…); nothing was changed. */
  | {
      readonly kind: 'blocked';
      readonly state: 'Pending' | 'Failed' | 'Conflict';
      readonly reason: PortReason;
      readonly message: string;
    }
  /** A transaction that plugs/updates (plug) or removes (unplug) it is in flight. */
  | { readonly kind: 'inTransaction'; readonly operation: 'plug' | 'unplug' }
  /** The last transaction for it failed; `message` is the server's error, verbatim. */
  | { readonly kind: 'transactionFailed'; readonly message: string }
  /** Wanted and consistent, or waiting for its turn in the next transaction. */
  | { readonly kind: 'steady' }
  /** Not wanted any more, but its removal is held by the removal guard (DESIGN §3.4). */
  | { readonly kind: 'removalHeld'; readonly untilMs: number; readonly cause: HoldCause }
  /** Not wanted according to a replica that has not completed its initial sync yet. */
  | { readonly kind: 'awaitingSync' }
  /**
   * Observe mode (DESIGN §3.5a): ovn-controller's built-in plugging plugged it; the state is read
   * from its interface, the reason names ovn-controller.
   */
  | { readonly kind: 'pluggedByOvnController' };

export interface PortFacts {
  readonly logicalPort: string;
  /** Plug type from the logical port options, or the ownership marker value for unwanted rows. */
  readonly provider: string;
  readonly phase: PortPhase;
  readonly iface?: InterfaceFacts;
  /** `Port_Binding.up`, when the binding is known. */
  readonly portBindingUp?: boolean;
  /** The provider's warnings for a port that otherwise works, as `<Code>: <message>`. */
  readonly warnings?: readonly string[];
}

/** One state with its reason; the input of {@link PortStatusModel.update}. */
export interface PortObservation {
  readonly logicalPort: string;
  readonly provider: string;
  readonly state: PortState;
  readonly reason: PortReason;
  readonly message: string;
  readonly interfaceName?: string;
  readonly ofport?: number;
  readonly warnings?: readonly string[];
  /** Set when ovn-controller's built-in plugging made the interface (DESIGN §3.5a). */
  readonly pluggedByOvnController?: true;
}

/** Maps the reconciler's facts on a port to its state, reason and message. */
export function derivePortState(facts: PortFacts): PortObservation {
  const base = {
    logicalPort: facts.logicalPort,
    provider: facts.provider,
    ...(facts.iface === undefined ? {} : { interfaceName: facts.iface.name }),
    ...(facts.iface?.ofport === undefined ? {} : { ofport: facts.iface.ofport }),
    ...(facts.warnings === undefined || facts.warnings.length === 0 ? {} : { warnings: facts.warnings }),
  };
  const phase = facts.phase;
  switch (phase.kind) {
    case 'blocked':
      return {
        ...base,
        state: phase.state,
        reason: phase.reason,
        message: phase.message,
        // Plug mode: the Conflict naming ovn-controller.
        ...(phase.reason === PLUGGED_BY_OVN_CONTROLLER ? { pluggedByOvnController: true as const } : {}),
      };
    case 'inTransaction':
      return phase.operation === 'plug'
        ? { ...base, state: 'Plugging', reason: 'TransactionInFlight', message: 'OVS transaction in flight' }
        : {
            ...base,
            state: 'Unplugging',
            reason: 'TransactionInFlight',
            message: 'OVS transaction removing the interface in flight',
          };
    case 'transactionFailed':
      return { ...base, state: 'Failed', reason: 'TransactionFailed', message: phase.message };
    case 'pluggedByOvnController': {
      const fromIface = stateFromInterface(facts);
      return {
        ...base,
        state: fromIface.state,
        reason: PLUGGED_BY_OVN_CONTROLLER,
        message: `plugged by ovn-controller's built-in plugging (observe mode): ${fromIface.message}`,
        pluggedByOvnController: true,
      };
    }
    case 'steady':
    case 'removalHeld':
    case 'awaitingSync': {
      const fromIface = stateFromInterface(facts);
      if (phase.kind === 'steady') return { ...base, ...fromIface };
      if (phase.kind === 'removalHeld') {
        return {
          ...base,
          state: fromIface.state,
          reason: 'RemovalHeld',
          message: `no longer wanted here; removal held until ${new Date(phase.untilMs).toISOString()}: ${describeHoldCause(phase.cause)}`,
        };
      }
      return {
        ...base,
        state: fromIface.state,
        reason: 'AwaitingSync',
        message:
          'not wanted by the replicas so far; no removal before both databases completed their initial sync',
      };
    }
  }
}

function stateFromInterface(facts: PortFacts): { state: PortState; reason: AgentReason; message: string } {
  const iface = facts.iface;
  if (iface === undefined) {
    return { state: 'Pending', reason: 'Queued', message: 'waiting for the next OVS transaction' };
  }
  if (iface.error !== undefined && iface.error !== '') {
    return { state: 'Failed', reason: 'InterfaceError', message: iface.error };
  }
  if (iface.ofport === -1) {
    return {
      state: 'Failed',
      reason: 'NoOfport',
      message: `ovs-vswitchd could not open interface "${iface.name}" (ofport -1)`,
    };
  }
  if (iface.ofport === undefined || iface.ofport <= 0) {
    return {
      state: 'Plugged',
      reason: 'WaitingForOfport',
      message: `interface "${iface.name}" committed, waiting for ovs-vswitchd to assign an ofport`,
    };
  }
  const bound = iface.ovnInstalled || facts.portBindingUp === true;
  const down = linkDown(iface);
  if (down !== undefined) {
    return {
      state: 'Down',
      reason: down.reason,
      message: `${down.message}; ${bound ? 'bound by ovn-controller' : 'not bound by ovn-controller yet'}, back to Bound when the link comes up`,
    };
  }
  if (bound) {
    return {
      state: 'Bound',
      reason: 'Bound',
      message: `interface "${iface.name}" (ofport ${iface.ofport}) is bound by ovn-controller`,
    };
  }
  return {
    state: 'Plugged',
    reason: 'WaitingForOvnController',
    message: `interface "${iface.name}" has ofport ${iface.ofport}; waiting for ovn-controller to bind it`,
  };
}

/**
 * Why a plugged interface's link is down (DESIGN §3.5 `Down`): the administrative state first (an
 * operator or the VM set it down), then the carrier as ovs-vswitchd sees it, then what the provider
 * sees of the device (a representor netdev whose VF is not in use). Undefined when it is up or unknown.
 */
function linkDown(iface: InterfaceFacts): { reason: AgentReason; message: string } | undefined {
  if (iface.adminState === 'down')
    return { reason: 'AdminDown', message: `interface "${iface.name}" has admin_state down` };
  if (iface.linkState === 'down')
    return { reason: 'LinkDown', message: `interface "${iface.name}" has link_state down` };
  if (iface.providerLink !== undefined)
    return { reason: 'DeviceLinkDown', message: iface.providerLink.reason };
  return undefined;
}

/** A change of one port's state, handed to sinks (logs, metrics, events). */
export interface PortTransition {
  readonly logicalPort: string;
  /** Undefined when the port is new to the model. */
  readonly from?: PortState;
  /** Undefined when the port left the model (unplugged, or no longer of interest). */
  readonly to?: PortState;
  /** The port's status after the change (before it, for a port that left). */
  readonly status: PortStatus;
  /** Set when this transition is the first to reach `Plugged`/`Bound` for a measurable port. */
  readonly plugLatencyMs?: number;
  readonly bindLatencyMs?: number;
}

interface Tracked {
  status: PortStatus;
  /** The last update() that named the port (the others are gone). */
  seenIn: number;
  /** Latencies are measured only for ports first seen before they were plugged (not on restart). */
  measurable: boolean;
  /** The observation `status` was built from: the same object again means nothing to do. */
  observation: PortObservation;
}

export interface PortStatusModelOptions {
  /** Milliseconds since epoch; injected so tests control time. */
  readonly now: () => number;
}

/** Keeps per-port timestamps and latencies across planning rounds. */
export class PortStatusModel {
  readonly #now: () => number;
  readonly #ports = new Map<string, Tracked>();
  /** {@link ports}' answer until a status changes, so an unchanged round costs no sort. */
  #sorted: readonly PortStatus[] | undefined;
  /** Counts update() calls, to tell the ports an update named from the ones it did not. */
  #updates = 0;

  constructor(options: PortStatusModelOptions) {
    this.#now = options.now;
  }

  /**
   * Replaces the set of ports with `observations` and returns what changed: ports whose state,
   * reason or message changed, new ports, and ports that left. A port keeps `sinceMs` while its
   * state stays the same, even when its reason changes.
   */
  update(observations: Iterable<PortObservation>): PortTransition[] {
    const now = this.#now();
    const transitions: PortTransition[] = [];
    const update = ++this.#updates;
    let seen = 0;
    for (const obs of observations) {
      const tracked = this.#ports.get(obs.logicalPort);
      if (tracked?.seenIn === update) continue;
      seen += 1;
      if (tracked !== undefined) tracked.seenIn = update;
      this.#observe(obs, tracked, update, now, transitions);
    }
    if (seen === this.#ports.size) return transitions;
    for (const [name, tracked] of this.#ports) {
      if (tracked.seenIn === update) continue;
      this.#sorted = undefined;
      this.#ports.delete(name);
      transitions.push({ logicalPort: name, from: tracked.status.state, status: tracked.status });
    }
    return transitions;
  }

  /** Applies one port's observation (`tracked`: what the model had for it). */
  #observe(
    obs: PortObservation,
    tracked: Tracked | undefined,
    update: number,
    now: number,
    transitions: PortTransition[],
  ): void {
    // The caller hands the same observation object while a port's facts are unchanged.
    if (tracked?.observation === obs) return;
    if (tracked === undefined) {
      this.#sorted = undefined;
      const measurable =
        obs.state !== 'Plugged' &&
        obs.state !== 'Bound' &&
        obs.state !== 'Down' &&
        obs.state !== 'Unplugging';
      const status = buildStatus(obs, now, now, undefined);
      this.#ports.set(obs.logicalPort, { status, seenIn: update, measurable, observation: obs });
      transitions.push({ logicalPort: obs.logicalPort, to: obs.state, status });
      return;
    }
    tracked.observation = obs;
    const prev = tracked.status;
    const stateChanged = prev.state !== obs.state;
    const changed =
      stateChanged ||
      prev.reason !== obs.reason ||
      prev.message !== obs.message ||
      prev.interfaceName !== obs.interfaceName ||
      prev.ofport !== obs.ofport ||
      prev.provider !== obs.provider ||
      !sameStrings(prev.warnings, obs.warnings);
    // Otherwise the status built from this observation would equal the one kept (same sinceMs,
    // no new latency: only a state change brings those).
    if (!changed && prev.pluggedByOvnController === obs.pluggedByOvnController) return;
    let plugLatencyMs: number | undefined;
    let bindLatencyMs: number | undefined;
    let latencies: { plug?: number; bind?: number } = {
      ...(prev.plugLatencyMs === undefined ? {} : { plug: prev.plugLatencyMs }),
      ...(prev.bindLatencyMs === undefined ? {} : { bind: prev.bindLatencyMs }),
    };
    if (tracked.measurable && stateChanged) {
      if (
        (obs.state === 'Plugged' || obs.state === 'Bound' || obs.state === 'Down') &&
        latencies.plug === undefined
      ) {
        plugLatencyMs = now - prev.firstSeenMs;
        latencies = { ...latencies, plug: plugLatencyMs };
      }
      if (obs.state === 'Bound' && latencies.bind === undefined) {
        bindLatencyMs = now - prev.firstSeenMs;
        latencies = { ...latencies, bind: bindLatencyMs };
      }
    }
    const status = buildStatus(obs, prev.firstSeenMs, stateChanged ? now : prev.sinceMs, latencies);
    tracked.status = status;
    this.#sorted = undefined;
    if (changed) {
      transitions.push({
        logicalPort: obs.logicalPort,
        from: prev.state,
        to: obs.state,
        status,
        ...(plugLatencyMs === undefined ? {} : { plugLatencyMs }),
        ...(bindLatencyMs === undefined ? {} : { bindLatencyMs }),
      });
    }
  }

  /**
   * Applies `observations` of some ports and removes the ports `gone`; the other ports stay as
   * they are. Returns what changed, like {@link update}.
   */
  updateSome(observations: Iterable<PortObservation>, gone: Iterable<string>): PortTransition[] {
    const now = this.#now();
    const transitions: PortTransition[] = [];
    const update = ++this.#updates;
    for (const obs of observations) {
      const tracked = this.#ports.get(obs.logicalPort);
      if (tracked?.seenIn === update) continue;
      if (tracked !== undefined) tracked.seenIn = update;
      this.#observe(obs, tracked, update, now, transitions);
    }
    for (const name of gone) {
      const tracked = this.#ports.get(name);
      if (tracked === undefined) continue;
      this.#sorted = undefined;
      this.#ports.delete(name);
      transitions.push({ logicalPort: name, from: tracked.status.state, status: tracked.status });
    }
    return transitions;
  }

  /**
   * Current statuses, sorted by logical port name: the same (frozen) array until a status changes,
   * so callers may compare it by identity.
   */
  ports(): readonly PortStatus[] {
    this.#sorted ??= Object.freeze(
      [...this.#ports.values()]
        .map((t) => t.status)
        .sort((a, b) => (a.logicalPort < b.logicalPort ? -1 : a.logicalPort > b.logicalPort ? 1 : 0)),
    );
    return this.#sorted;
  }

  get(logicalPort: string): PortStatus | undefined {
    return this.#ports.get(logicalPort)?.status;
  }
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  const left = a ?? [];
  const right = b ?? [];
  return left.length === right.length && left.every((value, i) => value === right[i]);
}

function buildStatus(
  obs: PortObservation,
  firstSeenMs: number,
  sinceMs: number,
  latencies: { plug?: number; bind?: number } | undefined,
): PortStatus {
  return Object.freeze({
    logicalPort: obs.logicalPort,
    state: obs.state,
    reason: obs.reason,
    message: obs.message,
    provider: obs.provider,
    ...(obs.interfaceName === undefined ? {} : { interfaceName: obs.interfaceName }),
    ...(obs.ofport === undefined ? {} : { ofport: obs.ofport }),
    ...(obs.warnings === undefined ? {} : { warnings: obs.warnings }),
    firstSeenMs,
    sinceMs,
    ...(latencies?.plug === undefined ? {} : { plugLatencyMs: latencies.plug }),
    ...(latencies?.bind === undefined ? {} : { bindLatencyMs: latencies.bind }),
    ...(obs.pluggedByOvnController === true ? { pluggedByOvnController: true } : {}),
  });
}
