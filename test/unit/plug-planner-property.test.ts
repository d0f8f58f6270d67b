/**
 * Planner properties over generated worlds (fast-check): a plan applied as one transaction never
 * violates the unique Port/Interface names, replanning afterwards writes nothing (idempotence),
 * only owned interfaces on the integration bridge are ever changed, every ready provider answer
 * is handed back exactly once, and 10,000 ports are planned well within the time budget.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isEmptyPlan,
  planPorts,
  type OvsInterface,
  type Plan,
  type PlannerConfig,
  type PlugAnswer,
  type PlugProvider,
  type PlugRequest,
  type ProviderLookup,
  type SbPortBinding,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import {
  BR_INT,
  HV1,
  HV2,
  applyPlanForTest,
  emptyWorld,
  planInputOf,
  withInterface,
  type World,
} from './plug-test-world.js';

const OURS = 'ovn-plug-agent';
const NAME_POOL = ['pf0vf0', 'pf0vf1', 'pf0vf2', 'pf0vf3'];

/** Names its interface after `vif-plug:named:name`; not-now without it; maintains `named-opt`. */
class NamedProvider implements PlugProvider {
  readonly type = 'named';
  maintainedIfaceOptions(): readonly string[] {
    return ['named-opt'];
  }
  prepare(request: PlugRequest): PlugAnswer {
    if (request.operation === 'remove')
      return { kind: 'ready', name: request.existing?.name ?? 'gone', options: {} };
    const name = request.options['vif-plug:named:name'];
    if (name === undefined) return { kind: 'notNow', reason: 'no name', code: 'NameMissing' };
    return { kind: 'ready', name, options: { 'named-opt': `for-${name}`, 'extra-opt': 'x' } };
  }
}

interface Counted {
  readonly lookup: ProviderLookup;
  readyAnswers(): number;
}

function countedProviders(): Counted {
  let ready = 0;
  const wrap = (provider: PlugProvider): PlugProvider => ({
    type: provider.type,
    maintainedIfaceOptions: () => provider.maintainedIfaceOptions(),
    prepare: (request) => {
      const answer = provider.prepare(request);
      if (answer.kind === 'ready') ready += 1;
      return answer;
    },
  });
  const providers = new Map<string, PlugProvider>([
    ['dummy', wrap(new DummyProvider())],
    ['named', wrap(new NamedProvider())],
  ]);
  return {
    lookup: (type) => {
      const provider = providers.get(type);
      if (provider !== undefined) return { kind: 'available', provider };
      return type === 'down' ? { kind: 'unavailable', reason: 'init failed: test' } : undefined;
    },
    readyAnswers: () => ready,
  };
}

interface BindingSpec {
  readonly port: number;
  readonly longName: boolean;
  readonly chassis: 'main' | 'additional' | 'other' | 'none';
  readonly plugType: 'dummy' | 'named' | 'nosuch' | 'down' | 'none' | 'seed-dummy';
  readonly name: number;
  readonly mtu: '1500' | '9000' | 'abc' | '-5' | 'none';
  readonly lportType: '' | 'localport';
}

interface InterfaceSpec {
  readonly port: number;
  readonly longName: boolean;
  readonly bridge: 'br-int' | 'br-phys';
  readonly marker: 'ours' | 'ovn-plugged' | 'none';
  readonly markerValue: 'dummy' | 'named' | 'nosuch';
  readonly ifaceId: boolean;
  readonly naming: 'dummy' | 'pool' | 'own';
  readonly name: number;
  readonly type: 'internal' | '';
  readonly options: 'dummy' | 'named' | 'foreign' | 'none';
  readonly mtu: 1500 | 440 | 'none';
  /** The Port's name: like its Interface, or another name (which may be another row's Interface name). */
  readonly portNaming: 'same' | 'pool' | 'own';
}

function portName(index: number, longName: boolean): string {
  return longName ? `a-very-long-logical-port-${index}` : `lp${index}`;
}

const bindingSpec = (ports: number): fc.Arbitrary<BindingSpec> =>
  fc.record({
    port: fc.nat({ max: ports - 1 }),
    longName: fc.boolean(),
    chassis: fc.constantFrom('main', 'main', 'additional', 'other', 'none'),
    plugType: fc.constantFrom('dummy', 'dummy', 'named', 'nosuch', 'down', 'none', 'seed-dummy'),
    name: fc.nat({ max: NAME_POOL.length }),
    mtu: fc.constantFrom('1500', '9000', 'abc', '-5', 'none'),
    lportType: fc.constantFrom('', '', '', 'localport'),
  });

const interfaceSpec = (ports: number): fc.Arbitrary<InterfaceSpec> =>
  fc.record({
    port: fc.nat({ max: ports - 1 }),
    longName: fc.boolean(),
    bridge: fc.constantFrom('br-int', 'br-int', 'br-int', 'br-phys'),
    marker: fc.constantFrom('ours', 'ours', 'ovn-plugged', 'none'),
    markerValue: fc.constantFrom('dummy', 'dummy', 'named', 'nosuch'),
    ifaceId: fc.boolean(),
    naming: fc.constantFrom('dummy', 'pool', 'own'),
    name: fc.nat({ max: NAME_POOL.length - 1 }),
    type: fc.constantFrom('internal', ''),
    options: fc.constantFrom('dummy', 'named', 'foreign', 'none'),
    mtu: fc.constantFrom<InterfaceSpec['mtu']>(1500, 440, 'none'),
    portNaming: fc.constantFrom<InterfaceSpec['portNaming']>('same', 'same', 'pool', 'own'),
  });

function toBinding(spec: BindingSpec): SbPortBinding {
  const logicalPort = portName(spec.port, spec.longName);
  const options: Record<string, string> = {};
  if (spec.plugType === 'seed-dummy') options['plug-type'] = 'dummy';
  else if (spec.plugType !== 'none') options['vif-plug-type'] = spec.plugType;
  const name = NAME_POOL[spec.name];
  if (name !== undefined) options['vif-plug:named:name'] = name;
  if (spec.mtu !== 'none') options['vif-plug-mtu-request'] = spec.mtu;
  return {
    uuid: `pb-${logicalPort}`,
    logicalPort,
    type: spec.lportType,
    options,
    ...(spec.chassis === 'main'
      ? { requestedChassis: HV1 }
      : spec.chassis === 'none'
        ? {}
        : { requestedChassis: HV2 }),
    requestedAdditionalChassis: spec.chassis === 'additional' ? [HV1] : [],
  };
}

function addInterface(world: World, spec: InterfaceSpec, taken: Taken): World {
  const logicalPort = portName(spec.port, spec.longName);
  const name =
    spec.naming === 'dummy'
      ? logicalPort.slice(0, 15)
      : spec.naming === 'pool'
        ? (NAME_POOL[spec.name] ?? 'pf0vf0')
        : `own-${logicalPort}`;
  const portRowName =
    spec.portNaming === 'same'
      ? name
      : spec.portNaming === 'pool'
        ? (NAME_POOL[(spec.name + 1) % NAME_POOL.length] ?? 'pf0vf0')
        : `port-${name}`;
  if (taken.interfaces.has(name) || taken.ports.has(portRowName)) return world;
  taken.interfaces.add(name);
  taken.ports.add(portRowName);
  const externalIds: Record<string, string> = {};
  if (spec.ifaceId) externalIds['iface-id'] = logicalPort;
  if (spec.marker === 'ours') externalIds[OURS] = spec.markerValue;
  if (spec.marker === 'ovn-plugged') externalIds['ovn-plugged'] = spec.markerValue;
  const options: Record<string, string> =
    spec.options === 'dummy'
      ? { 'vif-plug-dummy-option': 'stale' }
      : spec.options === 'named'
        ? { 'named-opt': 'stale' }
        : spec.options === 'foreign'
          ? { foo: 'bar' }
          : {};
  const fields: Partial<OvsInterface> = {
    type: spec.type,
    options,
    externalIds,
    ofport: 1,
    ...(spec.mtu !== 'none' ? { mtuRequest: spec.mtu } : {}),
  };
  return withInterface(world, spec.bridge, name, fields, portRowName).world;
}

/** Names already used in a generated world (Port and Interface names are separate unique indexes). */
interface Taken {
  readonly interfaces: Set<string>;
  readonly ports: Set<string>;
}

function noneTaken(): Taken {
  return { interfaces: new Set(), ports: new Set() };
}

function buildWorld(specs: readonly InterfaceSpec[]): World {
  let world = emptyWorld(['br-phys']);
  const taken = noneTaken();
  for (const spec of specs) world = addInterface(world, spec, taken);
  return world;
}

function ownedOnBrInt(world: World, ownershipKey: string): Set<string> {
  const owned = new Set<string>();
  const bridge = [...world.bridges.values()].find((b) => b.name === BR_INT);
  for (const portUuid of bridge?.ports ?? []) {
    for (const ifaceUuid of world.ports.get(portUuid)?.interfaces ?? []) {
      const iface = world.interfaces.get(ifaceUuid);
      if (
        iface &&
        Object.hasOwn(iface.externalIds, ownershipKey) &&
        Object.hasOwn(iface.externalIds, 'iface-id')
      ) {
        owned.add(ifaceUuid);
      }
    }
  }
  return owned;
}

function planOnce(
  world: World,
  bindings: readonly SbPortBinding[],
  config: PlannerConfig,
  providers: ProviderLookup,
): Plan {
  return planPorts(planInputOf(world, bindings, { providers, config }));
}

function checkProperties(world: World, bindings: readonly SbPortBinding[], config: PlannerConfig): void {
  const ownershipKey = config.ownershipKey;
  const counted = countedProviders();
  const plan = planOnce(world, bindings, config, counted.lookup);

  const inPlan =
    plan.create.length +
    plan.update.length +
    plan.replug.reduce((n, r) => n + (r.old.prepared === undefined ? 1 : 2), 0) +
    plan.remove.length +
    plan.release.length;
  expect(inPlan).toBe(counted.readyAnswers());

  const owned = ownedOnBrInt(world, ownershipKey);
  for (const target of [...plan.update, ...plan.remove, ...plan.replug.map((r) => r.old)]) {
    expect(owned.has(target.interfaceUuid)).toBe(true);
  }

  const after = applyPlanForTest(world, plan);
  const replan = planOnce(after, bindings, config, countedProviders().lookup);
  expect(isEmptyPlan(replan), JSON.stringify({ ...replan, release: replan.release.length })).toBe(true);

  const blocked = new Set(replan.blocked.map((b) => b.logicalPort));
  const ownedAfter = ownedOnBrInt(after, ownershipKey);
  const perPort = new Map<string, number>();
  for (const uuid of ownedAfter) {
    const id = after.interfaces.get(uuid)?.externalIds['iface-id'] ?? '';
    perPort.set(id, (perPort.get(id) ?? 0) + 1);
  }
  // A second owned interface whose own provider cannot release it (e.g. its marker names a type no
  // provider serves) is kept, never unplugged on doubt, and the port carries a warning for it.
  const keptSeconds = new Map<string, number>();
  for (const w of replan.warnings)
    if (w.message.startsWith('second owned interface '))
      keptSeconds.set(w.logicalPort, (keptSeconds.get(w.logicalPort) ?? 0) + 1);
  for (const unchanged of replan.unchanged) {
    expect(blocked.has(unchanged.logicalPort)).toBe(false);
    expect(perPort.get(unchanged.logicalPort)).toBe(1 + (keptSeconds.get(unchanged.logicalPort) ?? 0));
  }
}

describe('planner properties', () => {
  it('small worlds: apply + replan is empty, only owned br-int rows change, answers accounted, nothing removed before sync', () => {
    fc.assert(
      fc.property(
        fc.array(bindingSpec(12), { maxLength: 20 }),
        fc.array(interfaceSpec(12), { maxLength: 20 }),
        fc.constantFrom<PlannerConfig['ownershipKey']>('ovn-plug-agent', 'ovn-plugged'),
        fc.boolean(),
        (bindingSpecs, interfaceSpecs, ownershipKey, canRemove) => {
          checkProperties(buildWorld(interfaceSpecs), bindingSpecs.map(toBinding), {
            ownershipKey,
            canRemove,
          });
          if (!canRemove) {
            const plan = planOnce(
              buildWorld(interfaceSpecs),
              bindingSpecs.map(toBinding),
              { ownershipKey, canRemove },
              countedProviders().lookup,
            );
            expect(plan.remove.length + plan.replug.length).toBe(0);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('10,000 ports: apply + replan is empty', () => {
    checkTenThousand({ numRuns: 3 });
  });

  it('10,000 ports, seed -1660493109: a second owned interface of an unknown type is kept with a warning', () => {
    // Found by the random run above: lp1656 wanted (dummy) with a second owned interface marked by
    // the unregistered type "nosuch".
    checkTenThousand({ numRuns: 1, seed: -1660493109 });
  });
});

function checkTenThousand(parameters: { numRuns: number; seed?: number }): void {
  // fc.check, not fc.assert: a 10,000-row counterexample is too large to print usefully.
  const details = fc.check(
    fc.property(
      fc.array(bindingSpec(10_000), { minLength: 10_000, maxLength: 10_000 }),
      fc.array(interfaceSpec(10_000), { minLength: 4_000, maxLength: 4_000 }),
      (bindingSpecs, interfaceSpecs) => {
        checkProperties(buildWorldFast(interfaceSpecs), bindingSpecs.map(toBinding), {
          ownershipKey: OURS,
          canRemove: true,
        });
      },
    ),
    { ...parameters, endOnFailure: true },
  );
  expect(details.failed, `seed ${details.seed}: ${String(details.errorInstance).slice(0, 2000)}`).toBe(false);
}

/** {@link buildWorld} without copying the maps per row (linear for large worlds). */
function buildWorldFast(specs: readonly InterfaceSpec[]): World {
  const seed = emptyWorld(['br-phys']);
  const taken = noneTaken();
  const bridges = new Map(seed.bridges);
  const ports = new Map(seed.ports);
  const interfaces = new Map(seed.interfaces);
  const bridgePorts = new Map<string, string[]>();
  for (const spec of specs) {
    const one = addInterface(emptyWorld(['br-phys']), spec, taken);
    for (const [uuid, port] of one.ports) ports.set(uuid, port);
    for (const [uuid, iface] of one.interfaces) interfaces.set(uuid, iface);
    for (const bridge of one.bridges.values()) {
      const list = bridgePorts.get(bridge.name) ?? [];
      list.push(...bridge.ports);
      bridgePorts.set(bridge.name, list);
    }
  }
  for (const [uuid, bridge] of bridges)
    bridges.set(uuid, { ...bridge, ports: bridgePorts.get(bridge.name) ?? [] });
  return { bridges, ports, interfaces };
}

function dummyBindings(count: number): SbPortBinding[] {
  const bindings: SbPortBinding[] = [];
  for (let i = 0; i < count; i += 1) {
    bindings.push({
      uuid: `pb-${i}`,
      logicalPort: `lsp-${i}`,
      type: '',
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '1500' },
      requestedChassis: HV1,
      requestedAdditionalChassis: [],
    });
  }
  return bindings;
}

function fastestMs(runs: number, work: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    work();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

describe('planner timing (the real 20 ms budget is measured by bench/)', () => {
  const bindings = dummyBindings(10_000);
  const providers = countedProviders().lookup;
  const config: PlannerConfig = { ownershipKey: OURS, canRemove: true };

  it('plans 10,000 new ports in < 200 ms', () => {
    const world = emptyWorld();
    let plan: Plan | undefined;
    const ms = fastestMs(9, () => {
      plan = planOnce(world, bindings, config, providers);
    });
    expect(plan?.create.length).toBe(10_000);
    console.info(`planner: 10,000 new ports in ${ms.toFixed(1)} ms (fastest of 9)`);
    expect(ms).toBeLessThan(200);
  });

  it('replans 10,000 plugged ports (steady state) in < 200 ms', () => {
    const world = applyPlanForTest(emptyWorld(), planOnce(emptyWorld(), bindings, config, providers));
    let plan: Plan | undefined;
    const ms = fastestMs(9, () => {
      plan = planOnce(world, bindings, config, providers);
    });
    expect(plan?.unchanged.length).toBe(10_000);
    console.info(`planner: 10,000 plugged ports replanned in ${ms.toFixed(1)} ms (fastest of 9)`);
    expect(ms).toBeLessThan(200);
  });
});
