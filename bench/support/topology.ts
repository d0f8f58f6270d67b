/**
 * The Southbound content of the scale benchmark: `chassis` chassis with `portsPerChassis` bound
 * VIF port bindings each. Chassis come in groups of 10 that share 10 logical switches (datapaths);
 * each chassis has an equal share of its ports on each of its group's switches, so a switch spans
 * 10 chassis and a chassis touches 10 switches — the shape that decides how much of the SB an
 * ovn-controller with `ovn-monitor-all=false` sees (all ports of its local datapaths), while the
 * agent sees only the ports requested for its own chassis.
 */

export const GROUP = 10;

export interface PortPlacement {
  readonly name: string;
  readonly chassis: number;
  readonly datapath: number;
  /** Unique within its datapath (Port_Binding index [datapath, tunnel_key]). */
  readonly tunnelKey: number;
}

export interface Topology {
  readonly chassis: number;
  readonly portsPerChassis: number;
  readonly datapaths: number;
  readonly ports: readonly PortPlacement[];
}

export function chassisName(c: number): string {
  return `ch${c}`;
}

/** Datapaths (switch numbers) chassis `c` has ports on. */
export function datapathsOfChassis(topology: Topology, c: number): number[] {
  const base = Math.floor(c / GROUP) * GROUP;
  return Array.from({ length: Math.min(GROUP, topology.portsPerChassis) }, (_, k) => base + k);
}

export function buildTopology(chassis: number, portsPerChassis: number): Topology {
  if (!Number.isInteger(chassis) || chassis < GROUP || chassis % GROUP !== 0)
    throw new Error(`topology: chassis must be a positive multiple of ${GROUP}, got ${chassis}`);
  if (!Number.isInteger(portsPerChassis) || portsPerChassis < 1)
    throw new Error(`topology: portsPerChassis must be a positive integer, got ${portsPerChassis}`);
  const perSwitchPerChassis = Math.ceil(portsPerChassis / GROUP);
  if (GROUP * perSwitchPerChassis > 32_767)
    throw new Error(`topology: ${portsPerChassis} ports per chassis exceed a datapath's tunnel keys`);
  const ports: PortPlacement[] = [];
  for (let c = 0; c < chassis; c++) {
    const base = Math.floor(c / GROUP) * GROUP;
    for (let j = 0; j < portsPerChassis; j++) {
      ports.push({
        name: `lp-${c}-${j}`,
        chassis: c,
        datapath: base + (j % GROUP),
        tunnelKey: (c % GROUP) * perSwitchPerChassis + Math.floor(j / GROUP) + 1,
      });
    }
  }
  return { chassis, portsPerChassis, datapaths: chassis, ports };
}
