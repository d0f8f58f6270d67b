/**
 * A whole OVN deployment on one machine: central (NB, SB, northd) plus one node per chassis,
 * each with its own Open_vSwitch database, ovs-vswitchd (dummy datapath) and ovn-controller.
 * Used by the agent's integration tests, the benchmarks and the demo.
 */
import { asStringMap, parseCtlTable, type CtlRow } from './ctl-json.js';
import { startOvnCentral, stopAllReverse, type OvnCentral } from './ovn-central.js';
import { startOvnController, type OvnController } from './ovn-controller.js';
import { defaultRegistry, type ProcessRegistry, type Stoppable } from './process.js';
import { makeWorkDir, removeWorkDir } from './tempdir.js';
import { startVswitchd, type Vswitchd } from './vswitchd.js';
import { waitUntil } from './wait.js';

export interface SandboxOptions {
  /** Chassis to create, one node each; default `['hv1']`. Encap IPs are 127.0.0.1, .2, ... */
  readonly chassis?: readonly string[];
  /** Start every ovn-controller with `--enable-dummy-vif-plug`. */
  readonly enableDummyVifPlug?: boolean;
  /** Run the SB as a 3-member Raft cluster. */
  readonly sbCluster?: boolean;
  /** Do not start ovn-controller (nodes get OVS only), e.g. to start it later yourself. */
  readonly withoutController?: boolean;
  /** Leave the directory (databases, logs) in place after stop, for inspection. */
  readonly keepFiles?: boolean;
  readonly registry?: ProcessRegistry;
}

export interface SandboxNode {
  readonly chassis: string;
  readonly ovs: Vswitchd;
  /** Undefined with `withoutController`. */
  readonly controller: OvnController | undefined;
}

export interface Sandbox extends Stoppable {
  /** Root directory: `central/`, and one directory per chassis. */
  readonly dir: string;
  readonly central: OvnCentral;
  readonly nodes: readonly SandboxNode[];
  /** The node of `chassis`; throws naming it when there is none. */
  node(chassis: string): SandboxNode;
  /** Shell `export` lines that point ovn-nbctl/ovn-sbctl/ovs-vsctl at this sandbox (first node). */
  shellEnv(): string;
}

/** Starts central, then the nodes (in parallel). */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const chassisNames = options.chassis ?? ['hv1'];
  if (chassisNames.length === 0) throw new Error('startSandbox: at least one chassis is needed');
  const duplicate = chassisNames.find((name, i) => chassisNames.indexOf(name) !== i);
  if (duplicate !== undefined)
    throw new Error(`startSandbox: duplicate chassis name ${JSON.stringify(duplicate)}`);
  const registry = options.registry ?? defaultRegistry();
  const created = await makeWorkDir('h-sandbox');
  const root = options.keepFiles ? { ...created, owned: false } : created;
  const started: Stoppable[] = [];
  try {
    const central = await startOvnCentral({ dir: root.path, sbCluster: options.sbCluster, registry });
    started.push(central);
    // allSettled, not all: a failing node must not leave a sibling still starting behind.
    const settled = await Promise.allSettled(
      chassisNames.map(async (chassis, i): Promise<SandboxNode> => {
        const ovs = await startVswitchd({ dir: root.path, name: chassis, registry });
        started.push(ovs);
        const controller = options.withoutController
          ? undefined
          : await startOvnController({
              ovs,
              central,
              chassis,
              encapIp: `127.0.0.${i + 1}`,
              enableDummyVifPlug: options.enableDummyVifPlug,
              registry,
            });
        if (controller) started.push(controller);
        return { chassis, ovs, controller };
      }),
    );
    const nodes: SandboxNode[] = [];
    for (const result of settled) {
      if (result.status === 'rejected') throw result.reason;
      nodes.push(result.value);
    }
    let stopped = false;
    const sandbox: Sandbox = {
      dir: root.path,
      central,
      nodes,
      node(chassis) {
        const node = nodes.find((n) => n.chassis === chassis);
        if (!node)
          throw new Error(
            `sandbox has no chassis ${JSON.stringify(chassis)} (has ${chassisNames.join(', ')})`,
          );
        return node;
      },
      shellEnv() {
        const first = nodes[0];
        return [
          `export OVN_NB_DB=${central.nbRemote}`,
          `export OVN_SB_DB=${central.sbRemote}`,
          ...(first ? [`export OVS_RUNDIR=${first.ovs.dir}`, `export DB_SOCK=${first.ovs.dbRemote}`] : []),
          `# ovs-vsctl --db=<node db> ..., e.g.`,
          ...nodes.map((n) => `#   ovs-vsctl --db=${n.ovs.dbRemote} show   (${n.chassis})`),
        ].join('\n');
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        registry.untrack(sandbox);
        // Controllers first, then vswitchd/OVS DB, central last: the reverse of start order.
        const controllers = started.filter((s) => nodes.some((n) => n.controller === s));
        await stopAllReverse(controllers);
        await stopAllReverse(started.filter((s) => !controllers.includes(s)));
        await removeWorkDir(root);
      },
    };
    registry.track(sandbox);
    return sandbox;
  } catch (error) {
    await stopAllReverse(started);
    await removeWorkDir(root);
    throw error;
  }
}

export interface LspAddOptions {
  /** Logical switch; created when missing. Default `ls0`. */
  readonly switchName?: string;
  /** `Logical_Switch_Port.options` to set (e.g. `requested-chassis`, `vif-plug-type`). */
  readonly options?: Readonly<Record<string, string>>;
  /** Wait until northd has created the Port_Binding (`--wait=sb`); default true. */
  readonly waitSb?: boolean;
}

/** Adds a logical switch port (and its switch if needed) in one ovn-nbctl transaction. */
export async function lspAdd(central: OvnCentral, name: string, options: LspAddOptions = {}): Promise<void> {
  const switchName = options.switchName ?? 'ls0';
  const args = ['--may-exist', 'ls-add', switchName, '--', 'lsp-add', switchName, name];
  const lspOptions = Object.entries(options.options ?? {});
  if (lspOptions.length > 0) {
    args.push('--', 'lsp-set-options', name, ...lspOptions.map(([k, v]) => `${k}=${v}`));
  }
  await (options.waitSb === false ? central.nbctl(...args) : central.nbctlWaitSb(...args));
}

/** The SB Port_Binding of a logical port as ovn-sbctl shows it, decoded; undefined when absent. */
export async function getPortBinding(central: OvnCentral, logicalPort: string): Promise<CtlRow | undefined> {
  const rows = parseCtlTable(
    await central.sbctl(
      '--format=json',
      '--data=json',
      'find',
      'Port_Binding',
      `logical_port="${logicalPort}"`,
    ),
  );
  return rows[0];
}

/** The SB Chassis name a Port_Binding's `chassis` column points at, or undefined. */
export async function portBindingChassisName(
  central: OvnCentral,
  logicalPort: string,
): Promise<string | undefined> {
  const binding = await getPortBinding(central, logicalPort);
  const chassisUuid = binding?.['chassis'];
  if (typeof chassisUuid !== 'string') return undefined;
  const name = (await central.sbctl('--bare', '--columns=name', 'list', 'Chassis', chassisUuid)).trim();
  return name || undefined;
}

/** Waits until `Port_Binding.up` of `logicalPort` is true; returns the row. */
export function waitPortBindingUp(
  central: OvnCentral,
  logicalPort: string,
  timeoutMs = 20_000,
): Promise<CtlRow> {
  return waitUntil(
    async () => {
      const binding = await getPortBinding(central, logicalPort);
      return binding?.['up'] === true ? binding : undefined;
    },
    { description: `Port_Binding ${logicalPort} up=true`, timeoutMs, maxIntervalMs: 100 },
  );
}

/** Interface rows of a node whose `external_ids:iface-id` is `logicalPort`. */
export async function interfacesForLogicalPort(ovs: Vswitchd, logicalPort: string): Promise<CtlRow[]> {
  return (await ovs.interfaces()).filter(
    (row) => asStringMap(row['external_ids'])['iface-id'] === logicalPort,
  );
}
