/**
 * Coexistence with ovn-controller's own plugging (DESIGN §3.5a) in the planner: plug mode reports
 * a port the built-in plugged as a `Conflict` naming ovn-controller and leaves it alone; observe
 * mode never asks a provider nor writes, and reports the built-in's interface.
 */
import { describe, expect, it } from 'vitest';
import {
  planPorts,
  type Plan,
  type PlannerConfig,
  type PlugAnswer,
  type PlugProvider,
  type PlugRequest,
  type SbPortBinding,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import { BR_INT, binding, emptyWorld, planInputOf, withInterface, type World } from './plug-test-world.js';

/** A dummy provider that counts `prepare` calls. */
class CountingDummy implements PlugProvider {
  readonly type = 'dummy';
  readonly inner = new DummyProvider();
  prepared: PlugRequest[] = [];
  maintainedIfaceOptions(): readonly string[] {
    return this.inner.maintainedIfaceOptions();
  }
  prepare(request: PlugRequest): PlugAnswer {
    this.prepared.push(request);
    return this.inner.prepare(request);
  }
}

const lsp = (name: string): SbPortBinding =>
  binding(name, { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' });

function plan(world: World, bindings: readonly SbPortBinding[], config: Partial<PlannerConfig> = {}) {
  const provider = new CountingDummy();
  const result: Plan = planPorts(
    planInputOf(world, bindings, {
      providers: (type) => (type === 'dummy' ? { kind: 'available', provider } : undefined),
      config: { ownershipKey: 'ovn-plug-agent', canRemove: true, ...config },
    }),
  );
  return { result, provider };
}

const writes = (p: Plan): number => p.create.length + p.update.length + p.replug.length + p.remove.length;

function builtInPlugged(world: World, name: string) {
  return withInterface(world, BR_INT, name, {
    type: 'internal',
    options: { 'vif-plug-dummy-option': 'value' },
    externalIds: { 'iface-id': name, 'ovn-plugged': 'dummy', 'ovn-installed': 'true' },
    ofport: 3,
  });
}

describe('plug mode (default): ports ovn-controller plugged', () => {
  it('are a Conflict naming ovn-controller, left untouched, without asking the provider', () => {
    const { world, interfaceUuid } = builtInPlugged(emptyWorld(), 'c0');
    const { result, provider } = plan(world, [lsp('c0')]);
    expect(writes(result)).toBe(0);
    expect(provider.prepared).toEqual([]);
    expect(result.blocked).toEqual([
      expect.objectContaining({
        logicalPort: 'c0',
        state: 'Conflict',
        reason: 'PluggedByOvnController',
        interfaceUuid,
        operation: 'plug',
      }),
    ]);
    expect(result.blocked[0]?.message).toContain("ovn-controller's built-in plugging");
    expect(result.blocked[0]?.message).toContain('external_ids:ovn-plugged="dummy"');
    expect(result.observed).toEqual([]);
  });

  it('an unmarked interface beside the built-in one is still a ForeignInterface conflict', () => {
    const first = builtInPlugged(emptyWorld(), 'c0');
    const { world, interfaceUuid } = withInterface(first.world, BR_INT, 'other', {
      externalIds: { 'iface-id': 'c0' },
    });
    const { result } = plan(world, [lsp('c0')]);
    expect(result.blocked).toEqual([
      expect.objectContaining({ reason: 'ForeignInterface', interfaceUuid, state: 'Conflict' }),
    ]);
  });

  it('other ports are planned as usual', () => {
    const { world } = builtInPlugged(emptyWorld(), 'c0');
    const { result } = plan(world, [lsp('c0'), lsp('c1')]);
    expect(result.create.map((c) => c.logicalPort)).toEqual(['c1']);
  });
});

describe('observe mode (--observe-plug-types)', () => {
  const observe = { observePlugTypes: new Set(['dummy']) };

  it('reports the interface ovn-controller plugged, never writes and never asks the provider', () => {
    const { world, interfaceUuid } = builtInPlugged(emptyWorld(), 'c0');
    const { result, provider } = plan(world, [lsp('c0')], observe);
    expect(writes(result)).toBe(0);
    expect(provider.prepared).toEqual([]);
    expect(result.blocked).toEqual([]);
    expect(result.observed).toEqual([
      { logicalPort: 'c0', plugType: 'dummy', portBindingUuid: 'pb-c0', interfaceUuid, interfaceName: 'c0' },
    ]);
  });

  it('a wanted port with no interface yet waits for ovn-controller (Pending), nothing is created', () => {
    const { result, provider } = plan(emptyWorld(), [lsp('c0')], observe);
    expect(writes(result)).toBe(0);
    expect(provider.prepared).toEqual([]);
    expect(result.blocked).toEqual([
      expect.objectContaining({ logicalPort: 'c0', state: 'Pending', reason: 'AwaitingOvnController' }),
    ]);
    expect(result.blocked[0]?.message).toContain('observe mode');
  });

  it('an interface the agent plugged earlier is kept as it is, even when it differs from the answer', () => {
    const { world, interfaceUuid } = withInterface(emptyWorld(), BR_INT, 'c0', {
      type: 'internal',
      options: {},
      externalIds: { 'iface-id': 'c0', 'ovn-plug-agent': 'dummy' },
      mtuRequest: 9000,
    });
    const { result, provider } = plan(world, [lsp('c0')], observe);
    expect(writes(result)).toBe(0);
    expect(provider.prepared).toEqual([]);
    expect(result.unchanged).toEqual([expect.objectContaining({ logicalPort: 'c0', interfaceUuid })]);
  });

  it('applies per plug type: other types are still plugged', () => {
    const { result } = plan(emptyWorld(), [lsp('c0')], { observePlugTypes: new Set(['representor']) });
    expect(result.create.map((c) => c.logicalPort)).toEqual(['c0']);
  });

  it('an unmarked foreign interface is a ForeignInterface conflict in observe mode too', () => {
    const { world } = withInterface(emptyWorld(), BR_INT, 'x', { externalIds: { 'iface-id': 'c0' } });
    const { result } = plan(world, [lsp('c0')], observe);
    expect(result.blocked).toEqual([expect.objectContaining({ reason: 'ForeignInterface' })]);
  });

  it('an interface ovn-controller plugged for a port not wanted here is never removed', () => {
    const { world } = builtInPlugged(emptyWorld(), 'gone');
    for (const config of [{}, observe]) {
      const { result } = plan(world, [], config);
      expect(writes(result)).toBe(0);
      expect(result.blocked).toEqual([]);
    }
  });
});
