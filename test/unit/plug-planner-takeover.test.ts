/**
 * DESIGN §3.4: a held, postponed or lingering removal never blocks a wanted port whose request
 * arrived within the current session — the VF reuse of every day is one replug in one
 * transaction — while a request that came with a resync waits for the grace.
 */
import { describe, expect, it } from 'vitest';
import {
  RemovalGuard,
  planPorts,
  type PlanInput,
  type PlugAnswer,
  type PlugProvider,
  type PlugRequest,
  type RemovalPorts,
  type SbPortBinding,
} from '../../src/plug/index.js';
import { BR_INT, binding, emptyWorld, planInputOf, withInterface, type World } from './plug-test-world.js';

const MARKER = 'ovn-plug-agent';

/** Names the interface after the VF number, as the representor provider does: `vf<N>`. */
class VfProvider implements PlugProvider {
  readonly type = 'vf';
  readonly calls: string[] = [];
  postponeRemovals = false;
  maintainedIfaceOptions(): readonly string[] {
    return [];
  }
  prepare(request: PlugRequest): PlugAnswer {
    this.calls.push(`${request.operation}:${request.logicalPort}`);
    if (request.operation === 'remove') {
      if (this.postponeRemovals) return { kind: 'notNow', reason: 'VF busy', code: 'VfBusy' };
      return { kind: 'ready', name: request.existing?.name ?? '', options: {} };
    }
    const vf = request.options['vif-plug:vf:num'];
    if (vf === undefined) return { kind: 'notNow', reason: 'no vif-plug:vf:num' };
    return { kind: 'ready', name: `vf${vf}`, options: {} };
  }
}

function vfPort(name: string, vf: number): SbPortBinding {
  return binding(name, { 'vif-plug-type': 'vf', 'vif-plug:vf:num': String(vf) });
}

/** br-int with vm1 plugged on vf3 by us. */
function worldWithVm1(): World {
  return withInterface(emptyWorld(), BR_INT, 'vf3', {
    externalIds: { 'iface-id': 'vm1', [MARKER]: 'vf' },
    ofport: 7,
  }).world;
}

function input(
  world: World,
  bindings: SbPortBinding[],
  provider: PlugProvider,
  reviewRemovals?: PlanInput['reviewRemovals'],
): PlanInput {
  return {
    ...planInputOf(world, bindings, {
      providers: (type) => (type === provider.type ? { kind: 'available', provider } : undefined),
      config: { ownershipKey: MARKER, canRemove: true },
    }),
    ...(reviewRemovals === undefined ? {} : { reviewRemovals }),
  };
}

/** A guard whose session saw vm1 wanted; `resync` begins a new session before the next review. */
function guardAfter(initial: string[]): RemovalGuard {
  const g = new RemovalGuard({ share: 0.5, minCount: 8, graceMs: 60_000 });
  g.review({ nowMs: 0, sbInEffect: true, wanted: initial, unwanted: [], ownedCount: initial.length });
  return g;
}

function review(g: RemovalGuard, nowMs: number): (ports: RemovalPorts) => ReturnType<RemovalGuard['review']> {
  return (ports) => g.review({ ...ports, nowMs, sbInEffect: true });
}

describe('take-over of an unwanted port’s interface (DESIGN §3.4)', () => {
  it('VF reuse within a session: the deletion goes at once and the new port plugs in the same plan', () => {
    const provider = new VfProvider();
    const plan = planPorts(
      input(worldWithVm1(), [vfPort('vm2', 3)], provider, review(guardAfter(['vm1']), 1)),
    );
    // vm1's removal was not held (case 1), so it is a plain removal freeing the name for vm2.
    expect(plan.remove.map((r) => r.logicalPort)).toEqual(['vm1']);
    expect(plan.create.map((c) => [c.logicalPort, c.interface.name])).toEqual([['vm2', 'vf3']]);
    expect(plan.blocked).toEqual([]);
  });

  it('a held removal is taken over by a request that arrived within the session: one replug', () => {
    const provider = new VfProvider();
    const g = guardAfter(['vm1']);
    g.beginSession('resync');
    // The resync lost vm1: held. vm2 then arrives within the session on vm1's VF.
    const held = planPorts(input(worldWithVm1(), [], provider, review(g, 1_000)));
    expect(held.held.map((h) => [h.logicalPort, h.hold.cause])).toEqual([['vm1', 'resync']]);
    expect(held.remove).toEqual([]);
    const plan = planPorts(input(worldWithVm1(), [vfPort('vm2', 3)], provider, review(g, 2_000)));
    expect(plan.held).toEqual([]);
    expect(plan.create).toEqual([]);
    expect(plan.replug).toHaveLength(1);
    const replug = plan.replug[0];
    expect(replug?.logicalPort).toBe('vm2');
    expect(replug?.interface.name).toBe('vf3');
    expect(replug?.old).toMatchObject({ logicalPort: 'vm1', reason: 'TakenOver', interfaceName: 'vf3' });
    expect(replug?.old.prepared?.request).toMatchObject({ operation: 'remove', logicalPort: 'vm1' });
  });

  it('a request that came with the resync waits for the grace instead of evicting a live port', () => {
    const provider = new VfProvider();
    const g = guardAfter(['vm1']);
    g.beginSession('resync');
    // A restored backup: vm1 (live) is missing and an old port claims its VF, both in the first view.
    const plan = planPorts(input(worldWithVm1(), [vfPort('old', 3)], provider, review(g, 1_000)));
    expect(plan.replug).toEqual([]);
    expect(plan.create).toEqual([]);
    expect(plan.held.map((h) => h.logicalPort)).toEqual(['vm1']);
    expect(plan.blocked).toEqual([
      expect.objectContaining({ logicalPort: 'old', state: 'Pending', reason: 'InterfaceHeld' }),
    ]);
    expect(plan.blocked[0]?.message).toMatch(/"vf3" belongs to "vm1".*held until/);
    // Once the grace is over, vm1 goes and the old port plugs, in one plan.
    const later = planPorts(input(worldWithVm1(), [vfPort('old', 3)], provider, review(g, 61_000)));
    expect(later.remove.map((r) => r.logicalPort)).toEqual(['vm1']);
    expect(later.create.map((c) => c.logicalPort)).toEqual(['old']);
  });

  it('a removal its provider postpones is taken over all the same, without a prepared removal', () => {
    const provider = new VfProvider();
    provider.postponeRemovals = true;
    const plan = planPorts(input(worldWithVm1(), [vfPort('vm2', 3)], provider));
    expect(plan.replug).toHaveLength(1);
    expect(plan.replug[0]?.old).toMatchObject({ logicalPort: 'vm1', reason: 'TakenOver' });
    expect(plan.replug[0]?.old.prepared).toBeUndefined();
    expect(plan.blocked).toEqual([]);
  });

  it('no take-over before both databases are synced', () => {
    const provider = new VfProvider();
    const base = input(worldWithVm1(), [vfPort('vm2', 3)], provider);
    const plan = planPorts({ ...base, config: { ...base.config, canRemove: false } });
    expect(plan.replug).toEqual([]);
    expect(plan.create).toEqual([]);
    expect(plan.blocked.map((b) => [b.logicalPort, b.reason])).toEqual([
      ['vm1', 'AwaitingSync'],
      ['vm2', 'AwaitingSync'],
    ]);
  });
});
