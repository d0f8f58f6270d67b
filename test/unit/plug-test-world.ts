/**
 * Test support for the planner tests: an in-memory set of Open vSwitch rows, port binding
 * builders, and `applyPlanForTest`, which applies a plan the way one OVSDB transaction would
 * (including the unique `name` indexes of Port and Interface, checked at commit).
 */
import type {
  OvsBridge,
  OvsInterface,
  OvsPort,
  Plan,
  PlanInput,
  SbPortBinding,
} from '../../src/plug/index.js';

export const HV1 = 'chassis-hv1-uuid';
export const HV2 = 'chassis-hv2-uuid';
export const BR_INT = 'br-int';

export interface World {
  readonly bridges: ReadonlyMap<string, OvsBridge>;
  readonly ports: ReadonlyMap<string, OvsPort>;
  readonly interfaces: ReadonlyMap<string, OvsInterface>;
}

let uuidCounter = 0;
export function nextUuid(prefix: string): string {
  uuidCounter += 1;
  return `${prefix}-${uuidCounter.toString(16).padStart(8, '0')}`;
}

/** A world with the integration bridge (and optionally more bridges), no ports. */
export function emptyWorld(extraBridges: readonly string[] = []): World {
  const bridges = new Map<string, OvsBridge>();
  for (const name of [BR_INT, ...extraBridges]) {
    const uuid = nextUuid(`bridge-${name}`);
    bridges.set(uuid, { uuid, name, ports: [] });
  }
  return { bridges, ports: new Map(), interfaces: new Map() };
}

export type InterfaceFields = Partial<Omit<OvsInterface, 'uuid' | 'name'>>;

/**
 * Adds a Port with one Interface to `bridgeName` (the Port named like the Interface unless
 * `portName` is given); returns the world and the new UUIDs.
 */
export function withInterface(
  world: World,
  bridgeName: string,
  name: string,
  fields: InterfaceFields = {},
  portName: string = name,
): { world: World; interfaceUuid: string; portUuid: string } {
  const interfaceUuid = nextUuid('iface');
  const portUuid = nextUuid('port');
  const iface: OvsInterface = {
    uuid: interfaceUuid,
    name,
    type: '',
    options: {},
    externalIds: {},
    ...fields,
  };
  const bridges = new Map(world.bridges);
  const bridge = [...bridges.values()].find((b) => b.name === bridgeName);
  if (bridge === undefined) throw new Error(`no bridge ${bridgeName}`);
  bridges.set(bridge.uuid, { ...bridge, ports: [...bridge.ports, portUuid] });
  const ports = new Map(world.ports);
  ports.set(portUuid, { uuid: portUuid, name: portName, interfaces: [interfaceUuid] });
  const interfaces = new Map(world.interfaces);
  interfaces.set(interfaceUuid, iface);
  return { world: { bridges, ports, interfaces }, interfaceUuid, portUuid };
}

/** Replaces some columns of one Interface, like a local `ovs-vsctl set interface`. */
export function tamper(
  world: World,
  interfaceUuid: string,
  change: (iface: OvsInterface) => OvsInterface,
): World {
  const iface = world.interfaces.get(interfaceUuid);
  if (iface === undefined) throw new Error(`no interface ${interfaceUuid}`);
  const interfaces = new Map(world.interfaces);
  interfaces.set(interfaceUuid, change(iface));
  return { ...world, interfaces };
}

/** Deletes a Port (and its interfaces) from every bridge, like `ovs-vsctl del-port`. */
export function deletePort(world: World, portUuid: string): World {
  const port = world.ports.get(portUuid);
  if (port === undefined) throw new Error(`no port ${portUuid}`);
  const ports = new Map(world.ports);
  ports.delete(portUuid);
  const interfaces = new Map(world.interfaces);
  for (const uuid of port.interfaces) interfaces.delete(uuid);
  const bridges = new Map<string, OvsBridge>();
  for (const [uuid, bridge] of world.bridges) {
    bridges.set(uuid, { ...bridge, ports: bridge.ports.filter((p) => p !== portUuid) });
  }
  return { bridges, ports, interfaces };
}

export function interfaceNamed(world: World, name: string): OvsInterface | undefined {
  for (const iface of world.interfaces.values()) if (iface.name === name) return iface;
  return undefined;
}

/** A VIF Port_Binding requesting `chassis`, plugged with `plugType` (pass `undefined` for none). */
export function binding(
  logicalPort: string,
  options: Record<string, string>,
  fields: Partial<Omit<SbPortBinding, 'logicalPort' | 'options'>> = {},
): SbPortBinding {
  return {
    uuid: `pb-${logicalPort}`,
    logicalPort,
    type: '',
    options,
    requestedChassis: HV1,
    requestedAdditionalChassis: [],
    ...fields,
  };
}

export function planInputOf(
  world: World,
  portBindings: readonly SbPortBinding[],
  rest: Pick<PlanInput, 'providers' | 'config'>,
): PlanInput {
  return {
    chassisUuid: HV1,
    integrationBridge: BR_INT,
    portBindings,
    bridges: world.bridges.values(),
    ports: world.ports.values(),
    interfaces: world.interfaces.values(),
    ...rest,
  };
}

/**
 * Applies `plan` as one transaction: removals (and replugs' old halves) first, then updates,
 * then creates on the integration bridge. Throws, like ovsdb-server would abort the transaction,
 * when a Port or Interface name would be duplicated or a planned row does not exist.
 */
export function applyPlanForTest(world: World, plan: Plan): World {
  const bridges = new Map(world.bridges);
  const ports = new Map(world.ports);
  const interfaces = new Map(world.interfaces);
  const removedPorts = new Set<string>();
  for (const removal of [...plan.remove, ...plan.replug.map((r) => r.old)]) {
    const port = ports.get(removal.portUuid);
    if (port === undefined || !port.interfaces.includes(removal.interfaceUuid)) {
      throw new Error(`removal of missing port ${removal.portUuid}`);
    }
    ports.delete(port.uuid);
    for (const uuid of port.interfaces) interfaces.delete(uuid);
    removedPorts.add(port.uuid);
  }
  for (const update of plan.update) {
    const iface = interfaces.get(update.interfaceUuid);
    if (iface === undefined) throw new Error(`update of missing interface ${update.interfaceUuid}`);
    const { mtuRequest: _dropped, ...rest } = iface;
    const desired = update.interface;
    interfaces.set(iface.uuid, {
      ...rest,
      name: desired.name,
      type: desired.type,
      options: desired.options,
      externalIds: desired.externalIds,
      ...(desired.mtuRequest !== undefined ? { mtuRequest: desired.mtuRequest } : {}),
    });
  }
  const brInt = [...bridges.values()].find((b) => b.name === BR_INT);
  if (brInt === undefined) throw new Error('no integration bridge');
  const added: string[] = [];
  for (const create of [...plan.create, ...plan.replug]) {
    const desired = create.interface;
    const interfaceUuid = nextUuid('iface');
    const portUuid = nextUuid('port');
    interfaces.set(interfaceUuid, {
      uuid: interfaceUuid,
      name: desired.name,
      type: desired.type,
      options: desired.options,
      externalIds: desired.externalIds,
      ...(desired.mtuRequest !== undefined ? { mtuRequest: desired.mtuRequest } : {}),
    });
    ports.set(portUuid, { uuid: portUuid, name: desired.name, interfaces: [interfaceUuid] });
    added.push(portUuid);
  }
  for (const [uuid, bridge] of bridges) {
    const kept = removedPorts.size === 0 ? bridge.ports : bridge.ports.filter((p) => !removedPorts.has(p));
    bridges.set(uuid, { ...bridge, ports: uuid === brInt.uuid ? [...kept, ...added] : kept });
  }
  assertUnique('Interface', interfaces.values());
  assertUnique('Port', ports.values());
  return { bridges, ports, interfaces };
}

function assertUnique(table: string, rows: Iterable<{ readonly name: string }>): void {
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.name))
      throw new Error(`transaction causes multiple rows in "${table}" to have name ${row.name}`);
    seen.add(row.name);
  }
}
