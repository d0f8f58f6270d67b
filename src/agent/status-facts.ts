/**
 * Status facts: what each port looks like this round, as input to the status model
 * (status/model.ts). Built from the plan — its decisions and the bridge's interfaces as the plan
 * read them — with the Southbound `up` column, the last transaction errors and what providers see
 * of their links; before the first plan, from the owned interfaces alone.
 */
import {
  indexBridgeInterfaces,
  type OvsInterface,
  type OwnershipKey,
  type Plan,
  type ProviderLookup,
} from '../plug/index.js';
import type { RateLimitedLog } from './logger.js';
import type { WorkItem } from './ovs-writer.js';
import type { Replica } from './reconciler-options.js';
import { toBridge, toInterface, toPort, toPortBinding } from './replica-rows.js';
import type { InterfaceFacts, PortFacts, PortPhase } from './status/index.js';

export interface StatusFactsOptions {
  readonly sb: Replica;
  readonly ovs: Replica;
  readonly ownershipKey: OwnershipKey;
  readonly providers: ProviderLookup;
  readonly rateLimited: RateLimitedLog;
}

/** Ports in the transaction in flight, by what it does to them. */
export interface InFlightPorts {
  readonly plug: ReadonlySet<string>;
  readonly unplug: ReadonlySet<string>;
}

/** The phases without data, shared so that unchanged facts compare equal by identity. */
const STEADY: PortPhase = Object.freeze({ kind: 'steady' });
const AWAITING_SYNC: PortPhase = Object.freeze({ kind: 'awaitingSync' });
const PLUGGED_BY_OVN_CONTROLLER: PortPhase = Object.freeze({ kind: 'pluggedByOvnController' });

/**
 * Facts are rebuilt every round, but a port whose facts did not change gets last round's object
 * back: the status model then knows, by identity alone, that it has nothing to do for it (a round
 * on a node with 10,000 ports derives and compares only what changed, issue 12).
 */
export class StatusFacts {
  /** Each port's facts as of the last round. */
  #current: Map<string, PortFacts> | undefined;
  /** Interface facts without a provider link problem, by the (immutable) row they were read from. */
  readonly #interfaceFacts = new WeakMap<OvsInterface, InterfaceFacts>();
  #up:
    | { readonly seqno: number; readonly chassisUuid: string | undefined; readonly up: ReadonlySet<string> }
    | undefined;

  constructor(private readonly o: StatusFactsOptions) {}

  /**
   * Facts for every port the plan names. `sent` are the ports of the transaction this round sends;
   * `errorOf` gives a set-aside port's last transaction error (shown instead of a steady phase).
   */
  fromPlan(
    plan: Plan,
    chassisUuid: string,
    sent: ReadonlySet<string>,
    errorOf: (logicalPort: string) => string | undefined,
  ): PortFacts[] {
    const facts = this.#collect(plan, chassisUuid, sent, errorOf, undefined);
    this.#current = facts;
    return [...facts.values()];
  }

  /**
   * The facts of the ports that may have changed since the last round, when the plan says which
   * (`plan.changedPorts`, a planner memo), and the ports that left: only those are read again, so
   * a change on a node with 10,000 ports costs what it touches. Every such port is returned, changed
   * or not (its last status may have been marked in flight). Undefined when the plan does not say,
   * or there is no last round to start from: call {@link fromPlan}.
   */
  changesFromPlan(
    plan: Plan,
    chassisUuid: string,
    sent: ReadonlySet<string>,
    errorOf: (logicalPort: string) => string | undefined,
  ): { readonly facts: PortFacts[]; readonly gone: string[] } | undefined {
    const ports = plan.changedPorts;
    const current = this.#current;
    if (ports === undefined || current === undefined) return undefined;
    const fresh = this.#collect(plan, chassisUuid, sent, errorOf, ports);
    const changed: PortFacts[] = [];
    const gone: string[] = [];
    for (const port of ports) {
      const facts = fresh.get(port);
      if (facts === undefined) {
        if (current.delete(port)) gone.push(port);
      } else {
        current.set(port, facts);
        changed.push(facts);
      }
    }
    return { facts: changed, gone };
  }

  /** Every port's facts as of the last round (before the first: none). */
  current(): PortFacts[] | undefined {
    return this.#current === undefined ? undefined : [...this.#current.values()];
  }

  /** The facts of the plan's ports (of `only` of them, when given), last round's object where equal. */
  #collect(
    plan: Plan,
    chassisUuid: string,
    sent: ReadonlySet<string>,
    errorOf: (logicalPort: string) => string | undefined,
    only: ReadonlySet<string> | undefined,
  ): Map<string, PortFacts> {
    const up = this.#portBindingsUp(chassisUuid);
    const warnings = new Map<string, string[]>();
    for (const w of plan.warnings)
      if (w.code !== undefined && (only === undefined || only.has(w.logicalPort)))
        warnings.set(w.logicalPort, [...(warnings.get(w.logicalPort) ?? []), `${w.code}: ${w.message}`]);
    const facts = new Map<string, PortFacts>();
    const last = this.#current;
    const put = (logicalPort: string, provider: string, phase: PortPhase): void => {
      if (facts.has(logicalPort) || (only !== undefined && !only.has(logicalPort))) return;
      const owned = plan.bridgeInterfaces.owned.get(logicalPort)?.[0];
      const foreign = owned === undefined ? plan.bridgeInterfaces.foreign.get(logicalPort)?.[0] : undefined;
      // Asked whenever a port's facts are read: providers refresh what they are asked about.
      const ifaceFacts =
        owned !== undefined
          ? this.#facts(owned.iface, owned.plugType)
          : foreign === undefined
            ? undefined
            : this.#facts(foreign, undefined);
      const txnError = errorOf(logicalPort);
      const effective: PortPhase =
        txnError !== undefined && !sent.has(logicalPort) && phase.kind === 'steady'
          ? { kind: 'transactionFailed', message: txnError }
          : phase;
      const shown =
        owned !== undefined ||
        (foreign !== undefined &&
          (effective.kind === 'blocked' || effective.kind === 'pluggedByOvnController'));
      const iface = shown ? ifaceFacts : undefined;
      const isUp = up.has(logicalPort);
      const portWarnings = warnings.get(logicalPort);
      // Unchanged facts keep last round's object, allocated only when something differs.
      const before = last?.get(logicalPort);
      if (
        before !== undefined &&
        before.provider === provider &&
        before.iface === iface &&
        (before.portBindingUp === true) === isUp &&
        samePhase(before.phase, effective) &&
        sameStrings(before.warnings, portWarnings)
      ) {
        facts.set(logicalPort, before);
        return;
      }
      facts.set(logicalPort, {
        logicalPort,
        provider,
        phase: effective,
        ...(iface === undefined ? {} : { iface }),
        ...(isUp ? { portBindingUp: true } : {}),
        ...(portWarnings === undefined ? {} : { warnings: portWarnings }),
      });
    };
    for (const b of plan.blocked) {
      if (b.operation === 'unplug' && b.reason === 'AwaitingSync')
        put(b.logicalPort, b.plugType ?? '', AWAITING_SYNC);
      else
        put(b.logicalPort, b.plugType ?? '', {
          kind: 'blocked',
          state: b.state,
          reason: b.reason,
          message: b.message,
        });
    }
    for (const o of plan.observed) put(o.logicalPort, o.plugType, PLUGGED_BY_OVN_CONTROLLER);
    for (const c of plan.create) put(c.logicalPort, c.plugType, STEADY);
    for (const u of plan.update) put(u.logicalPort, u.plugType, STEADY);
    for (const r of plan.replug) put(r.logicalPort, r.plugType, STEADY);
    for (const u of plan.unchanged) put(u.logicalPort, u.plugType, STEADY);
    for (const r of plan.remove) put(r.logicalPort, r.plugType, STEADY);
    for (const r of plan.replug)
      if (r.old.logicalPort !== r.logicalPort) put(r.old.logicalPort, r.old.plugType, STEADY);
    for (const h of plan.held)
      put(h.logicalPort, h.plugType, { kind: 'removalHeld', untilMs: h.hold.untilMs, cause: h.hold.cause });
    return facts;
  }

  /** Before the first plan: the ports we own, kept as they are. */
  withoutPlan(integrationBridge: string, chassisUuid: string | undefined): PortFacts[] {
    const { ovs, ownershipKey } = this.o;
    // What is published now is not the last plan's: the next round starts afresh.
    this.#current = undefined;
    const up = this.#portBindingsUp(chassisUuid);
    const index = indexBridgeInterfaces({
      integrationBridge,
      bridges: ovs.table('Bridge').all().map(toBridge),
      ports: ovs.table('Port').all().map(toPort),
      interfaces: ovs.table('Interface').all().map(toInterface),
      ownershipKey,
    });
    const facts: PortFacts[] = [];
    for (const [logicalPort, owned] of index.owned) {
      const first = owned[0];
      if (first === undefined) continue;
      facts.push({
        logicalPort,
        provider: first.plugType,
        phase: { kind: 'awaitingSync' },
        iface: this.#facts(first.iface, first.plugType),
        ...(up.has(logicalPort) ? { portBindingUp: true } : {}),
      });
    }
    return facts;
  }

  /**
   * Logical ports whose binding is up on this chassis (or on no chassis yet); read again only when
   * the Southbound replica or the chassis changed.
   */
  #portBindingsUp(chassisUuid: string | undefined): ReadonlySet<string> {
    const { sb } = this.o;
    const cached = this.#up;
    if (cached !== undefined && cached.seqno === sb.seqno && cached.chassisUuid === chassisUuid)
      return cached.up;
    const up = new Set<string>();
    for (const row of sb.table('Port_Binding')) {
      const pb = toPortBinding(row);
      if (pb.up === true && (pb.chassis === undefined || pb.chassis === chassisUuid)) up.add(pb.logicalPort);
    }
    this.#up = { seqno: sb.seqno, chassisUuid, up };
    return up;
  }

  #facts(iface: OvsInterface, marker: string | undefined): InterfaceFacts {
    const link = this.#providerLink(marker, iface);
    if (link.providerLink !== undefined) return this.#readFacts(iface, link);
    let facts = this.#interfaceFacts.get(iface);
    if (facts === undefined) {
      facts = this.#readFacts(iface, {});
      this.#interfaceFacts.set(iface, facts);
    }
    return facts;
  }

  #readFacts(iface: OvsInterface, link: { providerLink?: { up: false; reason: string } }): InterfaceFacts {
    return {
      name: iface.name,
      ...(iface.ofport === undefined ? {} : { ofport: iface.ofport }),
      ...(iface.error === undefined ? {} : { error: iface.error }),
      ...(iface.linkState === undefined ? {} : { linkState: iface.linkState }),
      ...(iface.adminState === undefined ? {} : { adminState: iface.adminState }),
      ...link,
      ovnInstalled: iface.externalIds['ovn-installed'] === 'true',
    };
  }

  /** The provider's view of a plugged interface's link (DESIGN §3.5 `Down`), when it is down. */
  #providerLink(
    marker: string | undefined,
    iface: OvsInterface,
  ): { providerLink?: { up: false; reason: string } } {
    if (marker === undefined || iface.ofport === undefined || iface.ofport <= 0) return {};
    const found = this.o.providers(marker);
    if (found?.kind !== 'available' || found.provider.linkState === undefined) return {};
    try {
      const seen = found.provider.linkState(iface.name);
      return seen === undefined || seen.up ? {} : { providerLink: { up: false, reason: seen.reason } };
    } catch (error) {
      this.o.rateLimited.log(
        'warn',
        `linkState:${marker}`,
        { provider: marker, err: error },
        'provider linkState() threw',
      );
      return {};
    }
  }
}

/** Marks the ports of the transaction in flight (Plugging or Unplugging until its outcome). */
export function withInFlight(facts: readonly PortFacts[], inFlight: InFlightPorts | undefined): PortFacts[] {
  if (inFlight === undefined) return [...facts];
  return facts.map((f) => {
    if (inFlight.unplug.has(f.logicalPort))
      return { ...f, phase: { kind: 'inTransaction', operation: 'unplug' } };
    if (inFlight.plug.has(f.logicalPort))
      return { ...f, phase: { kind: 'inTransaction', operation: 'plug' } };
    return f;
  });
}

/**
 * The ports a transaction carrying `work` changes, for status: a port no longer wanted (or taken
 * over by another port) is Unplugging; a wanted port losing a duplicate interface is not.
 */
export function inFlightPorts(plan: Plan, work: readonly WorkItem[]): InFlightPorts {
  const unwanted = new Set(plan.remove.filter((r) => r.reason === 'NotWanted').map((r) => r.logicalPort));
  const takenOver = new Map(plan.replug.map((r) => [r.logicalPort, r.old]));
  const unplug = new Set<string>();
  for (const w of work) {
    if (w.kind === 'remove' && unwanted.has(w.logicalPort)) unplug.add(w.logicalPort);
    const old = w.kind === 'replug' ? takenOver.get(w.logicalPort) : undefined;
    if (old?.reason === 'TakenOver') unplug.add(old.logicalPort);
  }
  return { plug: new Set(work.filter((w) => w.kind !== 'remove').map((w) => w.logicalPort)), unplug };
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  const left = a ?? [];
  const right = b ?? [];
  return left.length === right.length && left.every((value, i) => value === right[i]);
}

function samePhase(a: PortPhase, b: PortPhase): boolean {
  if (a === b) return true;
  switch (a.kind) {
    case 'blocked':
      return b.kind === 'blocked' && a.state === b.state && a.reason === b.reason && a.message === b.message;
    case 'transactionFailed':
      return b.kind === 'transactionFailed' && a.message === b.message;
    case 'removalHeld':
      return (
        b.kind === 'removalHeld' &&
        a.untilMs === b.untilMs &&
        JSON.stringify(a.cause) === JSON.stringify(b.cause)
      );
    case 'inTransaction':
      return b.kind === 'inTransaction' && a.operation === b.operation;
    default:
      return a.kind === b.kind;
  }
}
