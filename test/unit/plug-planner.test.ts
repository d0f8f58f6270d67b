/**
 * Planner scenarios: upstream's own VIF plugging tests (reference upstream-vif-plug.md §2.2,
 * §2.3, the §2.6 table) replayed against the planner, plus the cases where DESIGN deliberately
 * differs from upstream, named after the DESIGN rule.
 */
import { describe, expect, it } from 'vitest';
import {
  isEmptyPlan,
  planPorts,
  type OvsPort,
  type OwnershipKey,
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
  HV2,
  applyPlanForTest,
  binding,
  deletePort,
  emptyWorld,
  interfaceNamed,
  planInputOf,
  tamper,
  withInterface,
  type World,
} from './plug-test-world.js';

const MARKER: OwnershipKey = 'ovn-plug-agent';

interface Setup {
  readonly providers?: Record<string, PlugProvider>;
  readonly unavailable?: Record<string, string>;
  readonly config?: Partial<PlannerConfig>;
}

function lookupOf(setup: Setup): ProviderLookup {
  const providers: Record<string, PlugProvider> = setup.providers ?? { dummy: new DummyProvider() };
  return (type) => {
    if (Object.hasOwn(providers, type)) {
      const provider = providers[type];
      if (provider !== undefined) return { kind: 'available', provider };
    }
    const reason = setup.unavailable?.[type];
    return reason === undefined ? undefined : { kind: 'unavailable', reason };
  };
}

function plan(world: World, bindings: readonly SbPortBinding[], setup: Setup = {}): Plan {
  const config: PlannerConfig = { ownershipKey: MARKER, canRemove: true, ...setup.config };
  return planPorts(planInputOf(world, bindings, { providers: lookupOf(setup), config }));
}

/** Plans and applies until nothing is left to write (at most 3 rounds), then returns the world. */
function converge(world: World, bindings: readonly SbPortBinding[], setup: Setup = {}): World {
  let current = world;
  for (let round = 0; round < 3; round += 1) {
    const next = plan(current, bindings, setup);
    if (isEmptyPlan(next)) return current;
    current = applyPlanForTest(current, next);
  }
  throw new Error('plan did not converge in 3 rounds');
}

const dummyOptions = (extra: Record<string, string> = {}): Record<string, string> => ({
  'requested-chassis': 'hv1',
  'vif-plug-type': 'dummy',
  ...extra,
});

function lsp1(
  extra: Record<string, string> = { 'vif-plug-mtu-request': '420' },
  fields: Partial<SbPortBinding> = {},
): SbPortBinding {
  return binding('lsp1', dummyOptions(extra), fields);
}

function pluggedLsp1(): { world: World; uuid: string } {
  const world = converge(emptyWorld(), [lsp1()]);
  const iface = interfaceNamed(world, 'lsp1');
  if (iface === undefined) throw new Error('lsp1 not plugged');
  return { world, uuid: iface.uuid };
}

function writes(p: Plan): Record<string, string[]> {
  return {
    create: p.create.map((e) => e.logicalPort),
    update: p.update.map((e) => e.logicalPort),
    replug: p.replug.map((e) => e.logicalPort),
    remove: p.remove.map((e) => e.logicalPort),
  };
}

const nothing = { create: [], update: [], replug: [], remove: [] };

/** A world with one more interface, as `withInterface` returns it. */
type Placed = ReturnType<typeof withInterface>;

/** Like `tamper`, for a Port row. */
function tamperPort(world: World, portUuid: string, change: (port: OvsPort) => OvsPort): World {
  const port = world.ports.get(portUuid);
  if (port === undefined) throw new Error(`no port ${portUuid}`);
  const ports = new Map(world.ports);
  ports.set(portUuid, change(port));
  return { ...world, ports };
}

/** lsp1 plugged as the dummy provider would (`first`), plus a second owned interface "aaa-old" for lsp1. */
function twoOwnedInterfacesForLsp1(): { first: Placed; second: Placed } {
  const first = withInterface(emptyWorld(), BR_INT, 'lsp1', {
    type: 'internal',
    options: { 'vif-plug-dummy-option': 'value' },
    externalIds: { 'iface-id': 'lsp1', [MARKER]: 'dummy' },
  });
  const second = withInterface(first.world, BR_INT, 'aaa-old', {
    externalIds: { 'iface-id': 'lsp1', [MARKER]: 'dummy' },
  });
  return { first, second };
}

/** A stale owned interface "y" (iface-id gone) whose Port is named "x". */
const staleInterfaceYOnPortX = (): Placed =>
  withInterface(emptyWorld(), BR_INT, 'y', { externalIds: { 'iface-id': 'gone', [MARKER]: 'dummy' } }, 'x');

describe('upstream §2.2 "ovn-controller - VIF plugging"', () => {
  it('plugs lsp1 with the dummy provider name, type, option, iface-id, marker and mtu_request 420', () => {
    const p = plan(emptyWorld(), [
      lsp1(),
      binding('lsp2', dummyOptions({ 'vif-plug-mtu-request': '420' }), { requestedChassis: HV2 }),
    ]);
    expect(writes(p)).toEqual({ ...nothing, create: ['lsp1'] });
    expect(p.create[0]?.interface).toEqual({
      name: 'lsp1',
      type: 'internal',
      options: { 'vif-plug-dummy-option': 'value' },
      externalIds: { 'iface-id': 'lsp1', 'ovn-plug-agent': 'dummy' },
      mtuRequest: 420,
    });
    expect(p.blocked).toEqual([]);
  });

  it('mtu option 420 -> 430 updates mtu_request of the same interface', () => {
    const { world, uuid } = pluggedLsp1();
    const p = plan(world, [lsp1({ 'vif-plug-mtu-request': '430' })]);
    expect(writes(p)).toEqual({ ...nothing, update: ['lsp1'] });
    expect(p.update[0]?.interfaceUuid).toBe(uuid);
    expect(p.update[0]?.changes).toEqual({
      setOptions: {},
      deleteOptions: [],
      setExternalIds: {},
      mtuRequest: { kind: 'set', value: 430 },
    });
  });

  it('a local mtu_request=440 is reverted to the requested 430', () => {
    const { uuid } = pluggedLsp1();
    const world = converge(pluggedLsp1().world, [lsp1({ 'vif-plug-mtu-request': '430' })]);
    const tampered = tamper(world, interfaceNamed(world, 'lsp1')?.uuid ?? uuid, (i) => ({
      ...i,
      mtuRequest: 440,
    }));
    const p = plan(tampered, [lsp1({ 'vif-plug-mtu-request': '430' })]);
    expect(p.update[0]?.changes.mtuRequest).toEqual({ kind: 'set', value: 430 });
    expect(applyPlanForTest(tampered, p).interfaces.get(p.update[0]?.interfaceUuid ?? '')?.mtuRequest).toBe(
      430,
    );
  });

  it('requested-chassis=non-existent-chassis (column empty) unplugs lsp1', () => {
    const { world, uuid } = pluggedLsp1();
    const p = plan(world, [lsp1(undefined, { requestedChassis: undefined })]);
    expect(writes(p)).toEqual({ ...nothing, remove: ['lsp1'] });
    expect(p.remove[0]).toMatchObject({ interfaceUuid: uuid, reason: 'NotWanted', plugType: 'dummy' });
  });

  it('lsp-del (binding gone) unplugs the port', () => {
    const { world } = pluggedLsp1();
    expect(writes(plan(world, []))).toEqual({ ...nothing, remove: ['lsp1'] });
  });

  it('a stale marked interface with an unknown iface-id on br-int is removed', () => {
    const { world, interfaceUuid } = withInterface(emptyWorld(), BR_INT, 'vif1', {
      externalIds: { [MARKER]: 'dummy', 'iface-id': 'non-existing-lsp' },
    });
    const p = plan(world, []);
    expect(p.remove.map((r) => [r.logicalPort, r.interfaceUuid])).toEqual([
      ['non-existing-lsp', interfaceUuid],
    ]);
  });

  it('a foreign interface already carrying iface-id=lsp3 is a Conflict and stays untouched', () => {
    const { world, interfaceUuid } = withInterface(emptyWorld(), BR_INT, 'vif3', {
      externalIds: { 'iface-id': 'lsp3' },
      ofport: 3,
    });
    const p = plan(world, [binding('lsp3', dummyOptions())]);
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked).toEqual([
      expect.objectContaining({
        logicalPort: 'lsp3',
        state: 'Conflict',
        reason: 'ForeignInterface',
        interfaceUuid,
      }),
    ]);
    expect(p.blocked[0]?.message).toContain('"vif3"');
  });
});

describe('upstream §2.3 "vif-plug transaction failures"', () => {
  it('an interface created but without ofport yet is not created a second time', () => {
    const first = plan(emptyWorld(), [lsp1()]);
    const world = applyPlanForTest(emptyWorld(), first);
    expect(interfaceNamed(world, 'lsp1')?.ofport).toBeUndefined();
    const second = plan(world, [lsp1()]);
    expect(writes(second)).toEqual(nothing);
    expect(second.unchanged.map((u) => u.logicalPort)).toEqual(['lsp1']);
  });
});

interface TableCase {
  readonly name: string;
  readonly given: () => { world: World; bindings: SbPortBinding[]; setup?: Setup };
  readonly then: (p: Plan, world: World) => void;
}

const table: TableCase[] = [
  {
    name: 'E3 removing the mtu option clears mtu_request',
    given: () => ({ world: pluggedLsp1().world, bindings: [lsp1({})] }),
    then: (p) => {
      expect(p.update[0]?.changes.mtuRequest).toEqual({ kind: 'clear' });
      expect(p.update[0]?.interface.mtuRequest).toBeUndefined();
      expect(p.warnings).toEqual([]);
    },
  },
  ...['abc', '-5', '0', '4200000000000'].map((value): TableCase => ({
    name: `E4 mtu option ${JSON.stringify(value)} clears mtu_request and warns naming the value`,
    given: () => ({ world: pluggedLsp1().world, bindings: [lsp1({ 'vif-plug-mtu-request': value })] }),
    then: (p) => {
      expect(p.update[0]?.changes.mtuRequest).toEqual({ kind: 'clear' });
      expect(p.warnings).toEqual([
        {
          logicalPort: 'lsp1',
          message: expect.stringContaining(`vif-plug-mtu-request ${JSON.stringify(value)}`) as string,
        },
      ]);
    },
  })),
  {
    name: 'E5 a local option foo=bar is kept and a deleted dummy option is restored',
    given: () => {
      const { world, uuid } = pluggedLsp1();
      return { world: tamper(world, uuid, (i) => ({ ...i, options: { foo: 'bar' } })), bindings: [lsp1()] };
    },
    then: (p) => {
      expect(p.update[0]?.changes).toEqual({
        setOptions: { 'vif-plug-dummy-option': 'value' },
        deleteOptions: [],
        setExternalIds: {},
      });
      expect(p.update[0]?.interface.options).toEqual({ foo: 'bar', 'vif-plug-dummy-option': 'value' });
    },
  },
  {
    name: 'E6 external_ids foo=bar and ovn-installed are kept, a changed marker value is reset',
    given: () => {
      const { world, uuid } = pluggedLsp1();
      const tampered = tamper(world, uuid, (i) => ({
        ...i,
        externalIds: { ...i.externalIds, foo: 'bar', 'ovn-installed': 'true', [MARKER]: 'other' },
      }));
      return { world: tampered, bindings: [lsp1()] };
    },
    then: (p) => {
      expect(p.update[0]?.changes).toEqual({
        setOptions: {},
        deleteOptions: [],
        setExternalIds: { [MARKER]: 'dummy' },
      });
      expect(p.update[0]?.interface.externalIds).toEqual({
        'iface-id': 'lsp1',
        [MARKER]: 'dummy',
        foo: 'bar',
        'ovn-installed': 'true',
      });
    },
  },
  {
    name: 'E6b iface-id removed locally: no failing create, the name is a Conflict (DESIGN §3.4 name collision)',
    given: () => {
      const { world, uuid } = pluggedLsp1();
      return {
        world: tamper(world, uuid, (i) => ({ ...i, externalIds: { [MARKER]: 'dummy' } })),
        bindings: [lsp1()],
      };
    },
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked).toEqual([
        expect.objectContaining({ logicalPort: 'lsp1', state: 'Conflict', reason: 'InterfaceNameTaken' }),
      ]);
      expect(p.release.map((r) => r.answer.name)).toEqual(['lsp1']);
    },
  },
  {
    name: 'E7 withdrawal unplugs (DESIGN §3.4): removing vif-plug-type removes the interface',
    given: () => ({
      world: pluggedLsp1().world,
      bindings: [binding('lsp1', { 'requested-chassis': 'hv1', 'vif-plug-mtu-request': '420' })],
    }),
    then: (p) => expect(writes(p)).toEqual({ ...nothing, remove: ['lsp1'] }),
  },
  {
    name: 'E8 re-adding vif-plug-type plugs again',
    given: () => {
      const withdrawn = converge(pluggedLsp1().world, [binding('lsp1', { 'requested-chassis': 'hv1' })]);
      return { world: withdrawn, bindings: [lsp1()] };
    },
    then: (p, world) => {
      expect(interfaceNamed(world, 'lsp1')).toBeUndefined();
      expect(writes(p)).toEqual({ ...nothing, create: ['lsp1'] });
    },
  },
  {
    name: 'E9 withdrawal unplugs (DESIGN §3.4): removing requested-chassis removes the interface',
    given: () => ({
      world: pluggedLsp1().world,
      bindings: [lsp1(undefined, { requestedChassis: undefined })],
    }),
    then: (p) => expect(writes(p)).toEqual({ ...nothing, remove: ['lsp1'] }),
  },
  {
    name: 'E10 requested-chassis given as hostname (resolved by northd into the column) plugs and updates',
    given: () => ({
      world: pluggedLsp1().world,
      bindings: [lsp1({ 'requested-chassis': 'hv1-host', 'vif-plug-mtu-request': '500' })],
    }),
    then: (p) => expect(p.update[0]?.changes.mtuRequest).toEqual({ kind: 'set', value: 500 }),
  },
  {
    name: 'E12 back on this chassis after an unplug: plugged again',
    given: () => {
      const unplugged = converge(pluggedLsp1().world, [lsp1(undefined, { requestedChassis: undefined })]);
      return { world: unplugged, bindings: [lsp1()] };
    },
    then: (p) => expect(writes(p)).toEqual({ ...nothing, create: ['lsp1'] }),
  },
  {
    name: 'E13 a local type="" is reverted to internal',
    given: () => {
      const { world, uuid } = pluggedLsp1();
      return { world: tamper(world, uuid, (i) => ({ ...i, type: '' })), bindings: [lsp1()] };
    },
    then: (p) =>
      expect(p.update[0]?.changes).toEqual({
        type: 'internal',
        setOptions: {},
        deleteOptions: [],
        setExternalIds: {},
      }),
  },
  {
    name: 'E15b foreign bridges ignored (DESIGN §3.2): a stale marked interface on another bridge is never touched',
    given: () => ({
      world: withInterface(emptyWorld(['br-phys']), 'br-phys', 'vif2', {
        externalIds: { [MARKER]: 'dummy', 'iface-id': 'gone' },
      }).world,
      bindings: [],
    }),
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked).toEqual([]);
      expect(p.ownedCount).toBe(0);
    },
  },
  {
    name: 'foreign bridges ignored (DESIGN §3.2): a marked interface for a wanted port on another bridge is not adopted',
    given: () => ({
      world: withInterface(emptyWorld(['br-phys']), 'br-phys', 'lsp1-other', {
        externalIds: { [MARKER]: 'dummy', 'iface-id': 'lsp1' },
      }).world,
      bindings: [lsp1()],
    }),
    then: (p) => expect(writes(p)).toEqual({ ...nothing, create: ['lsp1'] }),
  },
  {
    name: 'E15c a marked interface without iface-id is ignored',
    given: () => ({
      world: withInterface(emptyWorld(), BR_INT, 'vif4', { externalIds: { [MARKER]: 'dummy' } }).world,
      bindings: [],
    }),
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.ownedCount).toBe(0);
    },
  },
  {
    name: 'E15d a stale interface marked with an unknown provider is kept and reported',
    given: () => ({
      world: withInterface(emptyWorld(), BR_INT, 'vif5', {
        externalIds: { [MARKER]: 'foo', 'iface-id': 'gone' },
      }).world,
      bindings: [],
    }),
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked).toEqual([
        expect.objectContaining({
          logicalPort: 'gone',
          operation: 'unplug',
          state: 'Pending',
          reason: 'ProviderNotFound',
        }),
      ]);
      expect(p.blocked[0]?.message).toContain('"foo"');
    },
  },
  {
    name: 'E16 a foreign vif3 with iface-id=lsp3, then vif-plug: Conflict, vif3 untouched, no lsp3 interface',
    given: () => ({
      world: withInterface(emptyWorld(), BR_INT, 'vif3', {
        externalIds: { 'iface-id': 'lsp3', foo: 'bar' },
        mtuRequest: 9000,
      }).world,
      bindings: [binding('lsp3', dummyOptions({ 'vif-plug-mtu-request': '1500' }))],
    }),
    then: (p, world) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.release).toEqual([]);
      expect(p.blocked).toEqual([
        expect.objectContaining({ logicalPort: 'lsp3', state: 'Conflict', reason: 'ForeignInterface' }),
      ]);
      expect(interfaceNamed(applyPlanForTest(world, p), 'lsp3')).toBeUndefined();
    },
  },
  {
    name: 'E17 an unrelated interface named lsp4: Conflict instead of a failing create (DESIGN §3.4 name collision)',
    given: () => ({
      world: withInterface(emptyWorld(), BR_INT, 'lsp4').world,
      bindings: [binding('lsp4', dummyOptions())],
    }),
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked).toEqual([
        expect.objectContaining({ logicalPort: 'lsp4', state: 'Conflict', reason: 'InterfaceNameTaken' }),
      ]);
    },
  },
  {
    name: 'E17 a Port (not an Interface) of the same name also blocks the create',
    given: () => {
      const { world, portUuid } = withInterface(emptyWorld(), BR_INT, 'bond-member');
      return {
        world: tamperPort(world, portUuid, (port) => ({ ...port, name: 'lsp4' })),
        bindings: [binding('lsp4', dummyOptions())],
      };
    },
    then: (p) =>
      expect(p.blocked[0]).toMatchObject({
        reason: 'InterfaceNameTaken',
        message: expect.stringContaining('port "lsp4"') as string,
      }),
  },
  {
    name: 'E18 additional chassis plugs (DESIGN §3.4): requested-chassis hv2,hv1 plugs on hv1',
    given: () => ({
      world: emptyWorld(),
      bindings: [
        lsp1(undefined, { requestedChassis: HV2, requestedAdditionalChassis: ['chassis-hv1-uuid'] }),
      ],
    }),
    then: (p) => expect(writes(p)).toEqual({ ...nothing, create: ['lsp1'] }),
  },
  {
    name: 'E18 requested-chassis hv2 only unplugs from hv1',
    given: () => ({ world: pluggedLsp1().world, bindings: [lsp1(undefined, { requestedChassis: HV2 })] }),
    then: (p) => expect(writes(p)).toEqual({ ...nothing, remove: ['lsp1'] }),
  },
  {
    name: 'E19 iface-id-ver is not written (only iface-id and the marker)',
    given: () => ({ world: emptyWorld(), bindings: [lsp1({ 'iface-id-ver': 'v1' })] }),
    then: (p) =>
      expect(p.create[0]?.interface.externalIds).toEqual({ 'iface-id': 'lsp1', [MARKER]: 'dummy' }),
  },
  {
    name: 'E21 vif-plug-type=nosuch creates nothing and reports ProviderNotFound naming the type',
    given: () => ({ world: emptyWorld(), bindings: [binding('lsp1', { 'vif-plug-type': 'nosuch' })] }),
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked).toEqual([
        expect.objectContaining({ state: 'Pending', reason: 'ProviderNotFound', plugType: 'nosuch' }),
      ]);
      expect(p.blocked[0]?.message).toContain('vif-plug-type "nosuch"');
    },
  },
  {
    name: 'E22 a localport (type != "") or a container port (parent_port) is not plugged',
    given: () => ({
      world: emptyWorld(),
      bindings: [
        binding('lp', dummyOptions(), { type: 'localport' }),
        binding('child', dummyOptions(), { parentPort: 'lsp1' }),
      ],
    }),
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked).toEqual([]);
    },
  },
  {
    name: 'E23 a long logical port name gives a 15-character interface name, iface-id keeps the full name',
    given: () => ({
      world: emptyWorld(),
      bindings: [binding('a-very-long-logical-port-name', dummyOptions())],
    }),
    then: (p) => {
      expect(p.create[0]?.interface.name).toBe('a-very-long-log');
      expect(p.create[0]?.interface.externalIds['iface-id']).toBe('a-very-long-logical-port-name');
    },
  },
  {
    name: 'E24 a local del-port is recreated',
    given: () => {
      const { world } = pluggedLsp1();
      const port = [...world.ports.values()].find((x) => x.name === 'lsp1');
      return { world: deletePort(world, port?.uuid ?? ''), bindings: [lsp1()] };
    },
    then: (p) => expect(writes(p)).toEqual({ ...nothing, create: ['lsp1'] }),
  },
  {
    name: 'E20 restart with a stale interface: kept while the replicas are not synced (canRemove false)',
    given: () => ({ world: pluggedLsp1().world, bindings: [], setup: { config: { canRemove: false } } }),
    then: (p) => {
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked).toEqual([
        expect.objectContaining({
          logicalPort: 'lsp1',
          operation: 'unplug',
          state: 'Pending',
          reason: 'AwaitingSync',
        }),
      ]);
    },
  },
  {
    name: 'E20 restart with a stale interface: removed once synced',
    given: () => ({ world: pluggedLsp1().world, bindings: [] }),
    then: (p) => expect(writes(p)).toEqual({ ...nothing, remove: ['lsp1'] }),
  },
];

describe('upstream §2.6 table and DESIGN deviations', () => {
  it.each(table)('$name', ({ given, then }) => {
    const { world, bindings, setup } = given();
    then(plan(world, bindings, setup), world);
  });
});

/** A provider whose interface name comes from `vif-plug:named:name` (for parameter changes). */
function namedProvider(overrides: Partial<PlugProvider> = {}): PlugProvider {
  return {
    type: 'named',
    maintainedIfaceOptions: () => [],
    prepare: (request: PlugRequest): PlugAnswer => {
      const name = request.options['vif-plug:named:name'];
      return name === undefined
        ? { kind: 'notNow', reason: 'option vif-plug:named:name is missing', code: 'NameMissing' }
        : { kind: 'ready', name, options: {} };
    },
    ...overrides,
  };
}

const named = (name: string | undefined, fields: Partial<SbPortBinding> = {}): SbPortBinding =>
  binding(
    'vm1',
    { 'vif-plug-type': 'named', ...(name !== undefined ? { 'vif-plug:named:name': name } : {}) },
    fields,
  );

describe('DESIGN §3.4 rules beyond upstream', () => {
  const namedSetup: Setup = { providers: { named: namedProvider(), dummy: new DummyProvider() } };

  it('parameter change replugs (DESIGN §3.4): a new interface name removes the old and creates the new in one plan', () => {
    const world = converge(emptyWorld(), [named('pf0vf1')], namedSetup);
    const old = interfaceNamed(world, 'pf0vf1');
    const p = plan(world, [named('pf0vf2')], namedSetup);
    expect(writes(p)).toEqual({ ...nothing, replug: ['vm1'] });
    expect(p.replug[0]?.old).toMatchObject({
      interfaceUuid: old?.uuid,
      interfaceName: 'pf0vf1',
      reason: 'Replaced',
    });
    expect(p.replug[0]?.interface).toMatchObject({ name: 'pf0vf2', type: '' });
    const after = applyPlanForTest(world, p);
    expect(interfaceNamed(after, 'pf0vf1')).toBeUndefined();
    expect(isEmptyPlan(plan(after, [named('pf0vf2')], namedSetup))).toBe(true);
  });

  it('a replug waits for sync (no removal while canRemove is false) and keeps the old interface', () => {
    const world = converge(emptyWorld(), [named('pf0vf1')], namedSetup);
    const p = plan(world, [named('pf0vf2')], { ...namedSetup, config: { canRemove: false } });
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked[0]).toMatchObject({ logicalPort: 'vm1', reason: 'AwaitingSync' });
    expect(p.release.map((r) => r.answer.name)).toEqual(['pf0vf2']);
  });

  it('provider not-now keeps the existing interface untouched with Pending and the provider code', () => {
    const world = converge(emptyWorld(), [named('pf0vf1')], namedSetup);
    const p = plan(world, [named(undefined)], namedSetup);
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked).toEqual([
      expect.objectContaining({
        state: 'Pending',
        reason: 'NameMissing',
        message: 'option vif-plug:named:name is missing',
        interfaceUuid: interfaceNamed(world, 'pf0vf1')?.uuid,
      }),
    ]);
  });

  it('provider that throws keeps the existing interface untouched with Failed naming the error', () => {
    const world = converge(emptyWorld(), [named('pf0vf1')], namedSetup);
    const throwing = namedProvider({
      prepare: () => {
        throw new Error('devlink table corrupt');
      },
    });
    const p = plan(world, [named('pf0vf1')], { providers: { named: throwing } });
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked[0]).toMatchObject({ state: 'Failed', reason: 'ProviderError' });
    expect(p.blocked[0]?.message).toContain('devlink table corrupt');
  });

  it('provider that throws in maintainedIfaceOptions() is Failed, not a crash', () => {
    const broken = namedProvider({
      maintainedIfaceOptions: () => {
        throw new Error('boom');
      },
    });
    const p = plan(emptyWorld(), [named('x')], { providers: { named: broken } });
    expect(p.blocked[0]).toMatchObject({
      state: 'Failed',
      reason: 'ProviderError',
      message: expect.stringContaining('boom') as string,
    });
  });

  it.each<[string, unknown]>([
    ['a Promise', Promise.resolve({ kind: 'ready', name: 'x', options: {} })],
    ['an empty name', { kind: 'ready', name: '', options: {} }],
    ['non-string options', { kind: 'ready', name: 'x', options: { mtu: 5 } }],
    ['an unknown kind', { kind: 'maybe' }],
    ['a not-now without reason', { kind: 'notNow' }],
    ['undefined', undefined],
  ])(
    'provider answering %s is Failed with the contract breach named (plain-JS providers)',
    (_label, answer) => {
      // Plain JavaScript providers can return anything; the cast models exactly that.
      const broken = namedProvider({ prepare: () => answer as PlugAnswer });
      const p = plan(emptyWorld(), [named('x')], { providers: { named: broken } });
      expect(writes(p)).toEqual(nothing);
      expect(p.blocked[0]).toMatchObject({
        state: 'Failed',
        reason: 'ProviderError',
        message: expect.stringContaining('invalid answer') as string,
      });
    },
  );

  it('provider unavailable (init failed) keeps the existing interface and reports the reason', () => {
    const { world } = pluggedLsp1();
    const p = plan(world, [lsp1()], { providers: {}, unavailable: { dummy: 'init failed: no devlink' } });
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked[0]).toMatchObject({
      state: 'Pending',
      reason: 'ProviderUnavailable',
      message: expect.stringContaining('no devlink') as string,
    });
  });

  it('not-now on remove postpones the removal', () => {
    const world = converge(emptyWorld(), [named('pf0vf1')], namedSetup);
    const refusing = namedProvider({
      prepare: (r) =>
        r.operation === 'remove'
          ? { kind: 'notNow', reason: 'VF still in use' }
          : { kind: 'ready', name: 'pf0vf1', options: {} },
    });
    const p = plan(world, [], { providers: { named: refusing } });
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked[0]).toMatchObject({
      operation: 'unplug',
      state: 'Pending',
      reason: 'ProviderNotReady',
      message: 'VF still in use',
    });
  });

  it('marker key (DESIGN §3.2): an interface marked only with ovn-plugged is ovn-controller’s by default, ours in compat mode', () => {
    const { world, interfaceUuid } = withInterface(emptyWorld(), BR_INT, 'lsp1', {
      type: 'internal',
      options: { 'vif-plug-dummy-option': 'value' },
      externalIds: { 'iface-id': 'lsp1', 'ovn-plugged': 'dummy' },
      mtuRequest: 420,
    });
    const byDefault = plan(world, [lsp1()]);
    expect(writes(byDefault)).toEqual(nothing);
    expect(byDefault.blocked[0]).toMatchObject({
      state: 'Conflict',
      reason: 'PluggedByOvnController',
      interfaceUuid,
    });
    const compat = plan(world, [lsp1()], { config: { ownershipKey: 'ovn-plugged' } });
    expect(writes(compat)).toEqual(nothing);
    expect(compat.unchanged).toEqual([expect.objectContaining({ logicalPort: 'lsp1', interfaceUuid })]);
    expect(compat.ownedCount).toBe(1);
  });

  it('marker key (DESIGN §3.2): the default marker is ovn-plug-agent=<plug type>, never ovn-plugged', () => {
    const p = plan(emptyWorld(), [lsp1()]);
    expect(p.create[0]?.interface.externalIds).toEqual({ 'iface-id': 'lsp1', 'ovn-plug-agent': 'dummy' });
  });

  it('the seed spellings plug-type and plug-mtu-request are honoured; vif-plug-* wins when both are set', () => {
    const seed = plan(emptyWorld(), [binding('lsp1', { 'plug-type': 'dummy', 'plug-mtu-request': '1400' })]);
    expect(seed.create[0]?.interface).toMatchObject({
      mtuRequest: 1400,
      externalIds: { 'ovn-plug-agent': 'dummy' },
    });
    const both = plan(emptyWorld(), [
      binding('lsp1', {
        'plug-type': 'nosuch',
        'vif-plug-type': 'dummy',
        'plug-mtu-request': '1400',
        'vif-plug-mtu-request': '9000',
      }),
    ]);
    expect(both.create[0]?.interface).toMatchObject({
      mtuRequest: 9000,
      externalIds: { 'ovn-plug-agent': 'dummy' },
    });
  });

  it('duplicates guarded: two ports whose provider names the same interface -> the smaller port name wins, the other is a Conflict', () => {
    const a = binding('a-very-long-logical-port-2', dummyOptions());
    const b = binding('a-very-long-logical-port-1', dummyOptions());
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const p = plan(emptyWorld(), order);
      expect(p.create.map((c) => c.logicalPort)).toEqual(['a-very-long-logical-port-1']);
      expect(p.blocked).toEqual([
        expect.objectContaining({
          logicalPort: 'a-very-long-logical-port-2',
          state: 'Conflict',
          reason: 'DuplicateInterfaceName',
        }),
      ]);
    }
  });

  it('duplicates guarded: a second owned interface for the same port is removed, the matching one kept', () => {
    const { first, second } = twoOwnedInterfacesForLsp1();
    const p = plan(second.world, [lsp1({})]);
    expect(p.remove).toEqual([
      expect.objectContaining({ interfaceUuid: second.interfaceUuid, reason: 'DuplicateInterface' }),
    ]);
    expect(p.unchanged).toEqual([expect.objectContaining({ interfaceUuid: first.interfaceUuid })]);
  });

  it('duplicates guarded: a second owned interface that cannot go yet is a warning, not the port state', () => {
    const { first, second } = twoOwnedInterfacesForLsp1();
    const p = plan(second.world, [lsp1({})], { config: { canRemove: false } });
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked).toEqual([]);
    expect(p.unchanged).toEqual([
      expect.objectContaining({ logicalPort: 'lsp1', interfaceUuid: first.interfaceUuid }),
    ]);
    expect(p.warnings).toEqual([
      {
        logicalPort: 'lsp1',
        message: expect.stringContaining('second owned interface "aaa-old" is kept (AwaitingSync)') as string,
      },
    ]);
  });

  it('duplicates guarded: two Port_Bindings with the same logical_port are a Conflict, nothing written', () => {
    const p = plan(emptyWorld(), [lsp1(), { ...lsp1(), uuid: 'pb-other' }]);
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked[0]).toMatchObject({
      logicalPort: 'lsp1',
      state: 'Conflict',
      reason: 'DuplicatePortBinding',
    });
  });

  it('a name freed by a removal in the same plan can be used by a create', () => {
    const { world } = withInterface(emptyWorld(), BR_INT, 'lsp9', {
      externalIds: { 'iface-id': 'gone', [MARKER]: 'dummy' },
    });
    const p = plan(world, [binding('lsp9', dummyOptions())]);
    expect(writes(p)).toEqual({ ...nothing, create: ['lsp9'], remove: ['gone'] });
    expect(() => applyPlanForTest(world, p)).not.toThrow();
  });

  it('Port and Interface names are separate: a removed Port named x does not free an Interface named x', () => {
    const stale = staleInterfaceYOnPortX();
    const foreign = withInterface(stale.world, BR_INT, 'x', {}, 'z');
    const p = plan(foreign.world, [binding('x', dummyOptions())]);
    expect(writes(p)).toEqual({ ...nothing, remove: ['gone'] });
    expect(p.blocked).toEqual([
      expect.objectContaining({ logicalPort: 'x', state: 'Conflict', reason: 'InterfaceNameTaken' }),
    ]);
    expect(() => applyPlanForTest(foreign.world, p)).not.toThrow();
  });

  it('a Port name freed by a removal can be reused when no Interface holds it', () => {
    const stale = staleInterfaceYOnPortX();
    const p = plan(stale.world, [binding('x', dummyOptions())]);
    expect(writes(p)).toEqual({ ...nothing, create: ['x'], remove: ['gone'] });
    expect(() => applyPlanForTest(stale.world, p)).not.toThrow();
  });

  it('an owned interface sharing its Port with another interface is never removed (Conflict SharedPort)', () => {
    const { world, portUuid } = withInterface(emptyWorld(), BR_INT, 'bond0', {
      externalIds: { 'iface-id': 'gone', [MARKER]: 'dummy' },
    });
    const shared = tamperPort(world, portUuid, (port) => ({
      ...port,
      interfaces: [...port.interfaces, 'other-iface'],
    }));
    const p = plan(shared, []);
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked[0]).toMatchObject({ state: 'Conflict', reason: 'SharedPort', operation: 'unplug' });
  });

  it('a missing integration bridge blocks wanted ports with Pending IntegrationBridgeMissing', () => {
    const world: World = { bridges: new Map(), ports: new Map(), interfaces: new Map() };
    const p = plan(world, [lsp1()]);
    expect(writes(p)).toEqual(nothing);
    expect(p.blocked[0]).toMatchObject({
      state: 'Pending',
      reason: 'IntegrationBridgeMissing',
      message: expect.stringContaining('"br-int"') as string,
    });
  });

  it('passes the existing owned interface and the unicast MAC to prepare()', () => {
    const seen: PlugRequest[] = [];
    const recording = namedProvider({
      prepare: (r) => {
        seen.push(r);
        return { kind: 'ready', name: 'pf0vf1', options: {} };
      },
    });
    const world = converge(emptyWorld(), [named('pf0vf1')], namedSetup);
    plan(
      world,
      [
        named('pf0vf1', { mac: ['F0:00:00:00:00:01 10.0.0.1'] }),
        binding('vm2', { 'vif-plug-type': 'named' }, { mac: ['unknown'] }),
      ],
      {
        providers: { named: recording },
      },
    );
    expect(seen[0]).toMatchObject({
      operation: 'create',
      logicalPort: 'vm1',
      mac: 'f0:00:00:00:00:01',
      existing: { name: 'pf0vf1', type: '' },
    });
    expect(seen[1]?.mac).toBeUndefined();
    expect(seen[1]?.existing).toBeUndefined();
  });

  it('every ready answer appears exactly once in the plan (entries or release)', () => {
    let ready = 0;
    const counting = new DummyProvider();
    const original = counting.prepare.bind(counting);
    counting.prepare = (r) => {
      ready += 1;
      return original(r);
    };
    const { world } = pluggedLsp1();
    const withStale = withInterface(world, BR_INT, 'stale', {
      externalIds: { 'iface-id': 'stale', [MARKER]: 'dummy' },
    }).world;
    const withTaken = withInterface(withStale, BR_INT, 'taken').world;
    const p = plan(withTaken, [lsp1(), binding('new', dummyOptions()), binding('taken', dummyOptions())], {
      providers: { dummy: counting },
    });
    const inPlan =
      p.create.length + p.update.length + 2 * p.replug.length + p.remove.length + p.release.length;
    expect(ready).toBe(4);
    expect(inPlan).toBe(ready);
  });
});
