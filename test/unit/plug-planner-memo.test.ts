/**
 * PlanMemo (issue 12 part 2): over generated sequences of changes — plans applied, bindings
 * added, changed, duplicated and dropped, interfaces tampered with, moved and shared, foreign
 * interfaces, the sync state, datapath and observe mode toggled, provider changes
 * (`forgetOutcomes()`), resyncs (`clear()`), updates lost — a planner run with the memo returns
 * the same plan as a run without it, apart from the ready answers of unchanged ports that it did
 * not ask for again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  planPorts,
  PlanMemo,
  type OvsBridge,
  type OvsPort,
  type Plan,
  type PlugAnswer,
  type PlannerConfig,
  type PlugProvider,
  type ProviderLookup,
  type SbPortBinding,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import {
  applyPlanForTest,
  binding,
  BR_INT,
  emptyWorld,
  HV1,
  HV2,
  planInputOf,
  tamper,
  withInterface,
  type World,
} from './plug-test-world.js';

const OURS = 'ovn-plug-agent';

/**
 * Answers with `vif-plug:named:name` (type `dpdk` on a userspace bridge), or not-now without it;
 * one warning for names ending in 3.
 */
const named: PlugProvider = {
  type: 'named',
  maintainedIfaceOptions: () => ['named-opt'],
  prepare: (request): PlugAnswer => {
    if (request.operation === 'remove')
      return { kind: 'ready', name: request.existing?.name ?? 'gone', options: {} };
    const name = request.options['vif-plug:named:name'];
    if (name === undefined) return { kind: 'notNow', reason: 'no name', code: 'NameMissing' };
    return {
      kind: 'ready',
      name,
      // The answer depends on the bridge too (as the representor provider's does).
      ...(request.bridge?.datapathType === 'netdev' ? { type: 'dpdk' } : {}),
      options: { 'named-opt': `for-${name}` },
      ...(name.endsWith('3') ? { warnings: [{ code: 'Odd', message: `${name} is odd` }] } : {}),
    };
  },
};

const PROVIDERS = new Map<string, PlugProvider>([
  ['dummy', new DummyProvider()],
  ['named', named],
]);
const lookup: ProviderLookup = (type) => {
  const provider = PROVIDERS.get(type);
  return provider === undefined ? undefined : { kind: 'available', provider };
};

type Step =
  | { readonly kind: 'apply' }
  | {
      readonly kind: 'bind';
      readonly port: number;
      readonly plugType: 'dummy' | 'named' | 'none';
      readonly name: number;
      readonly chassis: 'main' | 'other';
      readonly mtu: '1500' | 'abc' | 'none';
    }
  | { readonly kind: 'unbind'; readonly port: number }
  | { readonly kind: 'tamper'; readonly port: number }
  | { readonly kind: 'foreign'; readonly port: number }
  | { readonly kind: 'toggleSync' }
  | { readonly kind: 'toggleDatapath' }
  | { readonly kind: 'toggleObserve' }
  | { readonly kind: 'move'; readonly port: number }
  | { readonly kind: 'share'; readonly port: number }
  | { readonly kind: 'clear' }
  | { readonly kind: 'forget' }
  | { readonly kind: 'lost' };

const PORTS = 8;
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'apply' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('bind' as const),
      port: fc.nat({ max: PORTS - 1 }),
      plugType: fc.constantFrom('dummy' as const, 'dummy' as const, 'named' as const, 'none' as const),
      name: fc.nat({ max: 3 }),
      chassis: fc.constantFrom('main' as const, 'main' as const, 'other' as const),
      mtu: fc.constantFrom('1500' as const, 'abc' as const, 'none' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('unbind' as const), port: fc.nat({ max: PORTS - 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tamper' as const), port: fc.nat({ max: PORTS - 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('foreign' as const), port: fc.nat({ max: PORTS - 1 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'toggleSync' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'toggleDatapath' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'toggleObserve' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'lost' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'forget' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('move' as const), port: fc.nat({ max: PORTS - 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('share' as const), port: fc.nat({ max: PORTS - 1 }) }),
  },
);

/**
 * The plan's entries of the ports `keep` accepts (a replug's old half goes with the new port), and
 * none of its totals.
 */
function only(plan: Plan, keep: (logicalPort: string) => boolean): Plan {
  const of = <T extends { readonly logicalPort: string }>(entries: readonly T[]): T[] =>
    entries.filter((entry) => keep(entry.logicalPort));
  return {
    ...plan,
    ownedCount: 0,
    create: of(plan.create),
    update: of(plan.update),
    replug: of(plan.replug),
    remove: of(plan.remove),
    blocked: of(plan.blocked),
    held: of(plan.held),
    unchanged: of(plan.unchanged),
    observed: of(plan.observed),
    warnings: of(plan.warnings),
  };
}

function bind(port: number): Step {
  return { kind: 'bind', port, plugType: 'dummy', name: 0, chassis: 'main', mtu: 'none' };
}

/** The plan without the ready answers (the memo does not ask for those of unchanged ports). */
function comparable(plan: Plan): unknown {
  // The memo puts the ports it takes as they were first; the plan is a set of entries per kind.
  const strip = <T extends object>(entries: readonly T[]): unknown[] =>
    sortedByJson(entries).map((entry): unknown =>
      JSON.parse(
        JSON.stringify(entry, (key: string, value: unknown) => (key === 'prepared' ? undefined : value)),
      ),
    );
  return {
    create: strip(plan.create),
    update: strip(plan.update),
    replug: strip(plan.replug),
    remove: strip(plan.remove),
    blocked: strip(plan.blocked),
    held: strip(plan.held),
    unchanged: strip(plan.unchanged),
    observed: strip(plan.observed),
    warnings: strip(plan.warnings),
    ownedCount: plan.ownedCount,
  };
}

function sortedByJson<T>(entries: readonly T[]): T[] {
  const keyed = entries.map((entry) => ({
    entry,
    key: JSON.stringify(entry, (k: string, v: unknown) => (k === 'prepared' ? undefined : v)),
  }));
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((k) => k.entry);
}

/** The rows of `after` that are not in `before` as they are, and the other way round (by UUID). */
function changesOf<T extends { readonly uuid: string }>(
  before: Iterable<T>,
  after: Iterable<T>,
): { before: T[]; after: T[] } {
  const old = new Map([...before].map((row) => [row.uuid, row]));
  const now = new Map([...after].map((row) => [row.uuid, row]));
  return {
    before: [...old.values()].filter((row) => now.get(row.uuid) !== row),
    after: [...now.values()].filter((row) => old.get(row.uuid) !== row),
  };
}

function portOf(world: World, logicalPort: string): OvsPort | undefined {
  const iface = [...world.interfaces.values()].find((i) => i.externalIds['iface-id'] === logicalPort);
  return iface === undefined
    ? undefined
    : [...world.ports.values()].find((p) => p.interfaces.includes(iface.uuid));
}

/** Moves the Port of `logicalPort`'s interface from its bridge to the other one. */
function moved(world: World, logicalPort: string): World {
  const port = portOf(world, logicalPort);
  if (port === undefined) return world;
  const bridges = new Map<string, OvsBridge>();
  for (const [uuid, bridge] of world.bridges) {
    const has = bridge.ports.includes(port.uuid);
    bridges.set(uuid, {
      ...bridge,
      ports: has ? bridge.ports.filter((p) => p !== port.uuid) : [...bridge.ports, port.uuid],
    });
  }
  return { ...world, bridges };
}

/** Adds an interface to the Port of `logicalPort`'s interface. */
function shared(world: World, logicalPort: string): World {
  const port = portOf(world, logicalPort);
  const name = `extra-${logicalPort}`;
  if (port === undefined || [...world.interfaces.values()].some((i) => i.name === name)) return world;
  const uuid = `iface-${name}`;
  const interfaces = new Map(world.interfaces);
  interfaces.set(uuid, { uuid, name, type: '', options: {}, externalIds: {} });
  const ports = new Map(world.ports);
  ports.set(port.uuid, { ...port, interfaces: [...port.interfaces, uuid] });
  return { ...world, ports, interfaces };
}

/**
 * Replays `steps` from an empty world, comparing memo and fresh runs after each one. The row
 * changes of every step are noted to the memo, as the reconciler does from the replicas' updates;
 * `lost` steps skip that (the memo must notice the gap and read the rows again).
 */
function replay(steps: readonly Step[]): void {
  const memo = new PlanMemo();
  let world: World = emptyWorld(['br-phys']);
  const bindings = new Map<number, SbPortBinding>();
  let config: PlannerConfig = { ownershipKey: OURS, canRemove: true };
  let sbVersion = 0;
  let ovsVersion = 0;
  let last: Plan | undefined;
  let lastMemoised: Plan | undefined;
  for (const s of steps) {
    const worldBefore = world;
    const bindingsBefore = [...bindings.values()];
    const versionsBefore = { sb: sbVersion, ovs: ovsVersion };
    switch (s.kind) {
      case 'apply':
        if (last !== undefined) {
          world = applyPlanForTest(world, last);
          ovsVersion += 1;
        }
        break;
      case 'bind': {
        const options: Record<string, string> = {};
        if (s.plugType !== 'none') options['vif-plug-type'] = s.plugType;
        options['vif-plug:named:name'] = `vf${s.name}`;
        if (s.mtu !== 'none') options['vif-plug-mtu-request'] = s.mtu;
        // Ports 6 and 7 bind logical ports 0 and 1 a second time (a DuplicatePortBinding conflict).
        const logicalPort = `lp${s.port % 6}`;
        bindings.set(
          s.port,
          binding(logicalPort, options, {
            uuid: `pb-${s.port}`,
            requestedChassis: s.chassis === 'main' ? HV1 : HV2,
          }),
        );
        sbVersion += 1;
        break;
      }
      case 'unbind':
        if (bindings.delete(s.port)) sbVersion += 1;
        break;
      case 'tamper': {
        const iface = [...world.interfaces.values()].find((i) => i.externalIds['iface-id'] === `lp${s.port}`);
        if (iface !== undefined) {
          world = tamper(world, iface.uuid, (i) => ({
            ...i,
            options: { ...i.options, 'named-opt': 'stale' },
          }));
          ovsVersion += 1;
        }
        break;
      }
      case 'foreign': {
        const name = `foreign${s.port}`;
        if (![...world.interfaces.values()].some((i) => i.name === name)) {
          world = withInterface(world, BR_INT, name, { externalIds: { 'iface-id': `lp${s.port}` } }).world;
          ovsVersion += 1;
        }
        break;
      }
      case 'toggleSync':
        config = { ...config, canRemove: !config.canRemove };
        break;
      case 'toggleDatapath': {
        const bridges = new Map(world.bridges);
        for (const [uuid, bridge] of bridges)
          if (bridge.name === BR_INT)
            bridges.set(uuid, { ...bridge, datapathType: bridge.datapathType === 'netdev' ? '' : 'netdev' });
        world = { ...world, bridges };
        ovsVersion += 1;
        break;
      }
      case 'toggleObserve': {
        const { observePlugTypes, ...rest } = config;
        config = observePlugTypes === undefined ? { ...rest, observePlugTypes: new Set(['named']) } : rest;
        break;
      }
      case 'move': {
        // The Port carrying lpN's interface changes bridge (only the bridges' `ports` change).
        const next = moved(world, `lp${s.port}`);
        if (next !== world) {
          world = next;
          ovsVersion += 1;
        }
        break;
      }
      case 'share': {
        // A second interface joins the Port of lpN's interface (the Port row changes).
        const next = shared(world, `lp${s.port}`);
        if (next !== world) {
          world = next;
          ovsVersion += 1;
        }
        break;
      }
      case 'clear':
        memo.clear();
        break;
      case 'forget':
        // A provider reported a change of state.
        memo.forgetOutcomes();
        break;
      case 'lost':
        sbVersion += 1;
        ovsVersion += 1;
        break;
    }
    if (s.kind !== 'lost') {
      if (sbVersion !== versionsBefore.sb)
        memo.noteSb(sbVersion, changesOf(bindingsBefore, bindings.values()));
      if (ovsVersion !== versionsBefore.ovs)
        memo.noteOvs(ovsVersion, {
          bridges: changesOf(worldBefore.bridges.values(), world.bridges.values()),
          ports: changesOf(worldBefore.ports.values(), world.ports.values()),
          interfaces: changesOf(worldBefore.interfaces.values(), world.interfaces.values()),
        });
    }
    const rows = [...bindings.values()];
    const fresh = planPorts(planInputOf(world, rows, { providers: lookup, config }));
    const memoised = planPorts({
      ...planInputOf(world, rows, { providers: lookup, config }),
      memo,
      sbVersion,
      ovsVersion,
    });
    expect(comparable(memoised)).toEqual(comparable(fresh));
    // Outside `changedPorts`, the memo's plan is the previous one (what status reads again).
    const changed = memoised.changedPorts;
    if (changed !== undefined && lastMemoised !== undefined)
      expect(comparable(only(memoised, (port) => !changed.has(port)))).toEqual(
        comparable(only(lastMemoised, (port) => !changed.has(port))),
      );
    last = fresh;
    lastMemoised = memoised;
  }
}

describe('PlanMemo', () => {
  it('a run with the memo plans what a run without it plans, after any sequence of changes', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => replay(steps)),
      { numRuns: 500 },
    );
  });

  it.each<[string, Step[]]>([
    [
      'a port unplugged and plugged again',
      [
        bind(0),
        { kind: 'apply' },
        { kind: 'unbind', port: 0 },
        { kind: 'apply' },
        bind(0),
        { kind: 'apply' },
      ],
    ],
    [
      'a port moved off the bridge and back',
      [bind(0), { kind: 'apply' }, { kind: 'move', port: 0 }, { kind: 'move', port: 0 }, { kind: 'apply' }],
    ],
    [
      'a port that gets a second interface',
      [bind(0), { kind: 'apply' }, { kind: 'share', port: 0 }, { kind: 'apply' }],
    ],
  ])('the same plan for %s', (_, steps) => {
    replay(steps);
  });

  it('takes unchanged ports as they are without asking their provider again, until cleared', () => {
    let asked = 0;
    const counting: PlugProvider = {
      type: 'dummy',
      maintainedIfaceOptions: () => ['vif-plug-dummy-option'],
      prepare: (request) => {
        asked += 1;
        return new DummyProvider().prepare(request);
      },
    };
    const providers: ProviderLookup = () => ({ kind: 'available', provider: counting });
    const config: PlannerConfig = { ownershipKey: OURS, canRemove: true };
    const rows = [binding('lp1', { 'vif-plug-type': 'dummy' }), binding('lp2', { 'vif-plug-type': 'dummy' })];
    const memo = new PlanMemo();
    const run = (world: World, sbVersion: number, ovsVersion: number): Plan =>
      planPorts({ ...planInputOf(world, rows, { providers, config }), memo, sbVersion, ovsVersion });
    const plugged = applyPlanForTest(emptyWorld(), run(emptyWorld(), 1, 1));
    expect(run(plugged, 1, 2).unchanged).toHaveLength(2);
    expect(memo.steadyPorts).toBe(2);
    asked = 0;
    expect(run(plugged, 2, 2).unchanged).toHaveLength(2);
    expect(asked).toBe(0);
    memo.clear();
    expect(run(plugged, 2, 2).unchanged).toHaveLength(2);
    expect(asked).toBe(2);
  });
});
