/**
 * Command line and environment parsing (DESIGN §3.6).
 *
 * `parseCommandLine(argv, env)` is pure: it never touches the file system or a database. It
 * returns either a frozen {@link Config} or the complete list of problems, each naming the flag
 * (or environment variable) and quoting the bad value, so an operator fixes everything in one
 * round. Values that ovn-controller takes from the local OVS DB (`external_ids:ovn-remote`,
 * `system-id`, `ovn-bridge`) stay optional here and are filled in later by
 * {@link resolveFromOpenVswitch}, once the agent has read the Open_vSwitch row.
 *
 * Every long flag `--some-flag` has an environment twin `OVN_PLUG_AGENT_SOME_FLAG`; a flag given on
 * the command line wins over its environment twin. Repeatable flags (`--provider-module`) take a
 * comma-separated list in the environment.
 */

import { DEFAULT_REMOVAL_MIN_COUNT } from '../plug/index.js';
import { DEFAULT_LIVENESS_STALL_MS } from './liveness.js';

/** What the process was asked to do. */
export type Command = 'run' | 'status' | 'providers' | 'remove-kube-status' | 'help' | 'version';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Marker key written to `Interface.external_ids` (DESIGN §3.2). `ovn-plugged` is the compat mode. */
export type OwnershipMarker = 'ovn-plug-agent' | 'ovn-plugged';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface TlsFiles {
  readonly privateKey: string;
  readonly certificate: string;
  readonly caCert: string;
}

export interface Config {
  readonly command: Command;
  /** Local OVS DB remote. */
  readonly ovsDb: string;
  /** SB remotes; absent → `Open_vSwitch external_ids:ovn-remote`. */
  readonly ovnsbDb?: readonly string[];
  /** Chassis name; absent → `Open_vSwitch external_ids:system-id`. */
  readonly chassis?: string;
  /** Integration bridge; absent → `Open_vSwitch external_ids:ovn-bridge`, then `br-int`. */
  readonly integrationBridge?: string;
  /** Built-in providers to register, in order. */
  readonly providers: readonly string[];
  /** ES modules exporting extra providers. */
  readonly providerModules: readonly string[];
  /** HTTP listen address for /metrics, /healthz, /readyz, /status, /providers; absent = no HTTP server. */
  readonly listen?: ListenAddress;
  /** Required when an `ssl:` remote is used. */
  readonly tls?: TlsFiles;
  readonly logLevel: LogLevel;
  readonly kubeconfig?: string;
  readonly nodeName?: string;
  /**
   * Plug types in observe mode (DESIGN §3.5a): ovn-controller's built-in plugging plugs them; the
   * agent never writes their ports and reports those marked `ovn-plugged`. Empty: plug mode.
   */
  readonly observePlugTypes: readonly string[];
  readonly ownershipMarker: OwnershipMarker;
  /** DESIGN §3.4 case 1: CMS removal rounds above this share of owned ports (0 < share ≤ 1)… */
  readonly massRemovalShare: number;
  /** …that remove at least this many ports are held. */
  readonly massRemovalMinPorts: number;
  /** How long a held removal waits (every case of DESIGN §3.4 that holds). */
  readonly massRemovalGraceMs: number;
  /** Periodic full replan even without changes. */
  readonly resyncIntervalMs: number;
  /** `/healthz` fails once work is pending this long with no progress (ADR 0106). */
  readonly livenessStallMs: number;
  readonly devlinkCommand: string;
  /** Representor answer form: `auto` follows the integration bridge's datapath (ADR 0053). */
  readonly representorDatapath: 'auto' | 'system' | 'dpdk' | 'doca';
  /** DPDK representor syntax for VF/SF devargs of a non-default PF (ADR 0053). */
  readonly dpdkRepresentorSyntax: 'exclusive' | 'plain';
  /** Publish the DPU's card serial number in `ovn-cms-options` (ADR 0055). */
  readonly cardSerial: 'auto' | 'off';
  /** Root of sysfs (PF MAC fallback, PCI VPD). */
  readonly sysfsRoot: string;
  /** Bound on `ovn_plug_port_info` series (metrics.ts `AgentMetricsOptions.portInfoLimit`). */
  readonly metricsPortInfoLimit: number;
  /** `status`: print the raw JSON instead of a table. */
  readonly json: boolean;
  /** `remove-kube-status`: clean every node instead of `--node-name`. */
  readonly allNodes: boolean;
}

export type ParseResult =
  { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly errors: readonly string[] };

export const BUILTIN_PROVIDERS = ['dummy', 'representor'] as const;
export const DEFAULT_OVS_DB = 'unix:/var/run/openvswitch/db.sock';
export const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: 9476 };
export const DEFAULT_INTEGRATION_BRIDGE = 'br-int';
/** Per-port metric series kept in full up to this many ports (ADR 0091). */
export const DEFAULT_METRICS_PORT_INFO_LIMIT = 2000;
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const ENV_PREFIX = 'OVN_PLUG_AGENT_';

type FlagKind = 'value' | 'repeat' | 'boolean';

interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly short?: string;
}

const FLAGS: readonly FlagSpec[] = [
  { name: 'ovs-db', kind: 'value' },
  { name: 'ovnsb-db', kind: 'value' },
  { name: 'chassis', kind: 'value' },
  { name: 'integration-bridge', kind: 'value' },
  { name: 'providers', kind: 'value' },
  { name: 'provider-module', kind: 'repeat' },
  { name: 'listen', kind: 'value' },
  { name: 'private-key', kind: 'value', short: 'p' },
  { name: 'certificate', kind: 'value', short: 'c' },
  { name: 'ca-cert', kind: 'value', short: 'C' },
  { name: 'log-level', kind: 'value' },
  { name: 'kubeconfig', kind: 'value' },
  { name: 'node-name', kind: 'value' },
  { name: 'ownership-marker', kind: 'value' },
  { name: 'observe-plug-types', kind: 'value' },
  { name: 'mass-removal-share', kind: 'value' },
  { name: 'mass-removal-grace', kind: 'value' },
  { name: 'mass-removal-min-ports', kind: 'value' },
  { name: 'resync-interval', kind: 'value' },
  { name: 'liveness-stall', kind: 'value' },
  { name: 'devlink-command', kind: 'value' },
  { name: 'representor-datapath', kind: 'value' },
  { name: 'dpdk-representor-syntax', kind: 'value' },
  { name: 'card-serial', kind: 'value' },
  { name: 'sysfs-root', kind: 'value' },
  { name: 'metrics-port-info-limit', kind: 'value' },
  { name: 'json', kind: 'boolean' },
  { name: 'all-nodes', kind: 'boolean' },
  { name: 'help', kind: 'boolean', short: 'h' },
  { name: 'version', kind: 'boolean', short: 'V' },
];

/** Environment variable that stands for `--flag`. */
export function envNameOf(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

/** One value as given, with where it came from (for error messages). */
interface Given {
  readonly value: string;
  readonly source: string;
}

/**
 * Parses `argv` (without the node and script paths) and the environment into a {@link Config}.
 * All problems are reported together; each names the flag or variable and quotes the value.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParseResult {
  const errors: string[] = [];
  const given = new Map<string, Given[]>();
  let command: Command | undefined;

  const specByLong = new Map(FLAGS.map((f) => [f.name, f]));
  const specByShort = new Map(FLAGS.flatMap((f) => (f.short === undefined ? [] : [[f.short, f] as const])));

  const record = (spec: FlagSpec, value: string, source: string): void => {
    const list = given.get(spec.name) ?? [];
    if (spec.kind !== 'repeat' && list.length > 0) {
      errors.push(`${source}: given more than once ("${list[0]?.value ?? ''}" and "${value}")`);
      return;
    }
    list.push({ value, source });
    given.set(spec.name, list);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = specByLong.get(name);
      if (spec === undefined) {
        errors.push(`unknown option "${arg}"`);
        continue;
      }
      if (spec.kind === 'boolean') {
        if (eq !== -1) errors.push(`--${name} takes no value (got "${arg.slice(eq + 1)}")`);
        else record(spec, 'true', `--${name}`);
        continue;
      }
      if (eq !== -1) {
        record(spec, arg.slice(eq + 1), `--${name}`);
      } else if (i + 1 < argv.length) {
        record(spec, argv[++i] ?? '', `--${name}`);
      } else {
        errors.push(`--${name} needs a value`);
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      const spec = specByShort.get(arg.slice(1, 2));
      if (spec === undefined) {
        errors.push(`unknown option "${arg}"`);
        continue;
      }
      if (spec.kind === 'boolean') {
        if (arg.length > 2) errors.push(`unknown option "${arg}"`);
        else record(spec, 'true', `--${spec.name}`);
        continue;
      }
      if (arg.length > 2) record(spec, arg.slice(2), `-${spec.short ?? ''}`);
      else if (i + 1 < argv.length) record(spec, argv[++i] ?? '', `-${spec.short ?? ''}`);
      else errors.push(`-${spec.short ?? ''} needs a value`);
    } else if (command === undefined && isCommand(arg)) {
      command = arg;
    } else {
      errors.push(
        `unexpected argument "${arg}" (commands: run, status, providers, remove-kube-status, help, version)`,
      );
    }
  }

  // Environment twins fill in flags not given on the command line.
  for (const spec of FLAGS) {
    if (given.has(spec.name) || spec.kind === 'boolean') continue;
    const envName = envNameOf(spec.name);
    const raw = env[envName];
    if (raw === undefined || raw === '') continue;
    if (spec.kind === 'repeat') {
      for (const part of raw.split(',')) {
        if (part.trim() !== '') record(spec, part.trim(), envName);
      }
    } else {
      record(spec, raw, envName);
    }
  }

  const one = (name: string): Given | undefined => given.get(name)?.[0];
  const has = (name: string): boolean => given.has(name);

  if (has('help')) command = 'help';
  else if (has('version')) command = 'version';

  const ovsDbGiven = one('ovs-db');
  const ovsDb = ovsDbGiven?.value ?? DEFAULT_OVS_DB;
  if (ovsDbGiven !== undefined) {
    const problem = checkRemote(ovsDb);
    if (problem !== undefined) errors.push(`${ovsDbGiven.source}: ${problem} in "${ovsDb}"`);
  }

  let ovnsbDb: string[] | undefined;
  const sbGiven = one('ovnsb-db');
  if (sbGiven !== undefined) {
    const parsed = parseRemoteList(sbGiven.value);
    if (typeof parsed === 'string') errors.push(`${sbGiven.source}: ${parsed}`);
    else ovnsbDb = parsed;
  }

  const chassis = nonEmpty(one('chassis'), errors);
  const integrationBridge = nonEmpty(one('integration-bridge'), errors);

  let providers: string[] = ['representor'];
  const providersGiven = one('providers');
  if (providersGiven !== undefined) {
    const names = providersGiven.value.split(',').map((s) => s.trim());
    const unknown = names.filter((n) => !(BUILTIN_PROVIDERS as readonly string[]).includes(n));
    if (names.some((n) => n === '')) {
      errors.push(`${providersGiven.source}: empty provider name in "${providersGiven.value}"`);
    } else if (unknown.length > 0) {
      errors.push(
        `${providersGiven.source}: unknown built-in provider ${unknown.map((n) => `"${n}"`).join(', ')} ` +
          `(built-in: ${BUILTIN_PROVIDERS.join(', ')}; load others with --provider-module)`,
      );
    } else if (new Set(names).size !== names.length) {
      errors.push(`${providersGiven.source}: provider listed twice in "${providersGiven.value}"`);
    } else {
      providers = names;
    }
  }

  const providerModules = (given.get('provider-module') ?? []).flatMap((g) => {
    if (g.value.trim() === '') {
      errors.push(`${g.source}: empty module path`);
      return [];
    }
    return [g.value];
  });

  let listen: ListenAddress | undefined = DEFAULT_LISTEN;
  const listenGiven = one('listen');
  if (listenGiven !== undefined) {
    if (listenGiven.value === 'off' || listenGiven.value === 'none') listen = undefined;
    else {
      const parsed = parseListen(listenGiven.value);
      if (typeof parsed === 'string') errors.push(`${listenGiven.source}: ${parsed}`);
      else listen = parsed;
    }
  }

  let logLevel: LogLevel = 'info';
  const levelGiven = one('log-level');
  if (levelGiven !== undefined) {
    const level = LOG_LEVELS.find((l) => l === levelGiven.value.toLowerCase());
    if (level === undefined) {
      errors.push(
        `${levelGiven.source}: unknown log level "${levelGiven.value}" (one of ${LOG_LEVELS.join(', ')})`,
      );
    } else logLevel = level;
  }

  const kubeconfig = nonEmpty(one('kubeconfig'), errors);
  const nodeName = nonEmpty(one('node-name'), errors);
  if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    errors.push(
      `${one('node-name')?.source ?? '--node-name'}: "${nodeName}" is not a valid Kubernetes node name`,
    );
  }

  let ownershipMarker: OwnershipMarker = 'ovn-plug-agent';
  const markerGiven = one('ownership-marker');
  if (markerGiven !== undefined) {
    if (markerGiven.value === 'ovn-plug-agent' || markerGiven.value === 'ovn-plugged')
      ownershipMarker = markerGiven.value;
    else
      errors.push(`${markerGiven.source}: "${markerGiven.value}" is not one of ovn-plug-agent, ovn-plugged`);
  }

  let observePlugTypes: string[] = [];
  const observeGiven = one('observe-plug-types');
  if (observeGiven !== undefined) {
    const types = observeGiven.value.split(',').map((s) => s.trim());
    if (types.some((t) => t === '')) {
      errors.push(`${observeGiven.source}: empty plug type in "${observeGiven.value}"`);
    } else if (new Set(types).size !== types.length) {
      errors.push(`${observeGiven.source}: plug type listed twice in "${observeGiven.value}"`);
    } else if (ownershipMarker === 'ovn-plugged') {
      errors.push(
        `${observeGiven.source}: "${observeGiven.value}" cannot be combined with --ownership-marker=ovn-plugged (that marker makes ovn-controller's interfaces the agent's own; observe mode leaves them to ovn-controller)`,
      );
    } else observePlugTypes = types;
  }

  let massRemovalShare = 0.5;
  const shareGiven = one('mass-removal-share');
  if (shareGiven !== undefined) {
    const share = parseShare(shareGiven.value);
    if (share === undefined) {
      errors.push(`${shareGiven.source}: "${shareGiven.value}" is not a share in (0, 1] (e.g. 0.5 or 50%)`);
    } else massRemovalShare = share;
  }

  // DESIGN §3.4 case 1: deleting a handful of VMs at once is never held (ADR 0085).
  let massRemovalMinPorts = DEFAULT_REMOVAL_MIN_COUNT;
  const minGiven = one('mass-removal-min-ports');
  if (minGiven !== undefined) {
    const n = Number(minGiven.value);
    if (!/^\d+$/.test(minGiven.value.trim()) || n < 1)
      errors.push(`${minGiven.source}: "${minGiven.value}" is not a whole number ≥ 1`);
    else massRemovalMinPorts = n;
  }

  const massRemovalGraceMs = durationFlag(one('mass-removal-grace'), 60_000, 0, errors);
  const resyncIntervalMs = durationFlag(one('resync-interval'), 30_000, 100, errors);
  const livenessStallMs = durationFlag(one('liveness-stall'), DEFAULT_LIVENESS_STALL_MS, 1_000, errors);

  const devlinkCommand = nonEmpty(one('devlink-command'), errors) ?? 'devlink';
  const representorDatapath = choiceFlag(
    one('representor-datapath'),
    ['auto', 'system', 'dpdk', 'doca'],
    errors,
  );
  const dpdkRepresentorSyntax = choiceFlag(one('dpdk-representor-syntax'), ['exclusive', 'plain'], errors);
  const cardSerial = choiceFlag(one('card-serial'), ['auto', 'off'], errors);
  const sysfsRoot = nonEmpty(one('sysfs-root'), errors) ?? '/sys';

  let metricsPortInfoLimit = DEFAULT_METRICS_PORT_INFO_LIMIT;
  const limitGiven = one('metrics-port-info-limit');
  if (limitGiven !== undefined) {
    if (!/^\d+$/.test(limitGiven.value.trim()))
      errors.push(`${limitGiven.source}: "${limitGiven.value}" is not a whole number ≥ 0`);
    else metricsPortInfoLimit = Number(limitGiven.value.trim());
  }

  const tlsKey = nonEmpty(one('private-key'), errors);
  const tlsCert = nonEmpty(one('certificate'), errors);
  const tlsCa = nonEmpty(one('ca-cert'), errors);
  let tls: TlsFiles | undefined;
  const tlsGivenCount = [tlsKey, tlsCert, tlsCa].filter((v) => v !== undefined).length;
  if (tlsKey !== undefined && tlsCert !== undefined && tlsCa !== undefined) {
    tls = { privateKey: tlsKey, certificate: tlsCert, caCert: tlsCa };
  } else if (tlsGivenCount > 0) {
    errors.push(
      `-p/--private-key, -c/--certificate and -C/--ca-cert must be given together (missing: ${missingTls(tlsKey, tlsCert, tlsCa)})`,
    );
  }
  const sslRemotes = [ovsDb, ...(ovnsbDb ?? [])].filter((r) => r.startsWith('ssl:'));
  if (sslRemotes.length > 0 && tlsGivenCount === 0) {
    errors.push(
      `ssl: remote "${sslRemotes[0] ?? ''}" needs -p/--private-key, -c/--certificate and -C/--ca-cert`,
    );
  }

  if (command === 'remove-kube-status' && !has('all-nodes') && nodeName === undefined) {
    errors.push('remove-kube-status needs --all-nodes or --node-name=NAME');
  }

  if (errors.length > 0) return { ok: false, errors };
  const config: Config = {
    command: command ?? 'run',
    ovsDb,
    ...(ovnsbDb === undefined ? {} : { ovnsbDb }),
    ...(chassis === undefined ? {} : { chassis }),
    ...(integrationBridge === undefined ? {} : { integrationBridge }),
    providers,
    providerModules,
    ...(listen === undefined ? {} : { listen }),
    ...(tls === undefined ? {} : { tls }),
    logLevel,
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...(nodeName === undefined ? {} : { nodeName }),
    ownershipMarker,
    observePlugTypes,
    massRemovalShare,
    massRemovalMinPorts,
    massRemovalGraceMs,
    resyncIntervalMs,
    livenessStallMs,
    devlinkCommand,
    representorDatapath,
    dpdkRepresentorSyntax,
    cardSerial,
    sysfsRoot,
    metricsPortInfoLimit,
    json: has('json'),
    allNodes: has('all-nodes'),
  };
  return { ok: true, config: Object.freeze(config) };
}

/** The settings ovn-controller reads from `Open_vSwitch.external_ids`, completed. */
export interface ResolvedConfig extends Config {
  readonly ovnsbDb: readonly string[];
  readonly chassis: string;
  readonly integrationBridge: string;
}

export type ResolveResult =
  | { readonly ok: true; readonly config: ResolvedConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Fills the values ovn-controller takes from the local OVS DB: SB remotes from
 * `external_ids:ovn-remote`, chassis name from `system-id`, integration bridge from `ovn-bridge`
 * (default `br-int`). Flags win over the DB. Reports every missing or malformed value at once.
 */
export function resolveFromOpenVswitch(
  config: Config,
  externalIds: ReadonlyMap<string, string>,
): ResolveResult {
  const errors: string[] = [];
  let ovnsbDb = config.ovnsbDb;
  if (ovnsbDb === undefined) {
    const raw = externalIds.get('ovn-remote');
    if (raw === undefined || raw === '') {
      errors.push('no --ovnsb-db given and Open_vSwitch external_ids:ovn-remote is not set');
    } else {
      const parsed = parseRemoteList(raw);
      if (typeof parsed === 'string') errors.push(`Open_vSwitch external_ids:ovn-remote: ${parsed}`);
      else ovnsbDb = parsed;
    }
  }
  let chassis = config.chassis;
  if (chassis === undefined) {
    const raw = externalIds.get('system-id');
    if (raw === undefined || raw === '')
      errors.push('no --chassis given and Open_vSwitch external_ids:system-id is not set');
    else chassis = raw;
  }
  const integrationBridge =
    config.integrationBridge ?? (externalIds.get('ovn-bridge') || DEFAULT_INTEGRATION_BRIDGE);
  const ssl = (ovnsbDb ?? []).find((r) => r.startsWith('ssl:'));
  if (ssl !== undefined && config.tls === undefined) {
    errors.push(`ssl: remote "${ssl}" (from Open_vSwitch external_ids:ovn-remote) needs -p, -c and -C`);
  }
  if (errors.length > 0 || ovnsbDb === undefined || chassis === undefined) return { ok: false, errors };
  return { ok: true, config: Object.freeze({ ...config, ovnsbDb, chassis, integrationBridge }) };
}

/** Usage text for `--help`. */
export function usage(): string {
  return `usage: ovn-plug-agent [run] [OPTIONS]
       ovn-plug-agent status [--listen=HOST:PORT] [--json]
       ovn-plug-agent providers [--listen=HOST:PORT] [--json]
       ovn-plug-agent remove-kube-status (--all-nodes | --node-name=N) [--kubeconfig=PATH]

Plugs VIFs for OVN logical ports that request a plug provider on this chassis.

  --ovs-db=REMOTE          local OVS DB (default ${DEFAULT_OVS_DB})
  --ovnsb-db=REMOTES       SB DB, comma-separated (default: Open_vSwitch external_ids:ovn-remote)
  --chassis=NAME           this chassis (default: Open_vSwitch external_ids:system-id)
  --integration-bridge=BR  default: external_ids:ovn-bridge, then br-int
                           (values taken from external_ids are followed live; flags are not)
  --providers=LIST         built-in providers (dummy, representor; default representor)
  --provider-module=PATH   ES module exporting providers (repeatable)
  --listen=HOST:PORT|off   /metrics /healthz /readyz /status /providers (default ${DEFAULT_LISTEN.host}:${DEFAULT_LISTEN.port})
  -p, --private-key=FILE   -c, --certificate=FILE   -C, --ca-cert=FILE   (ssl: remotes)
  --log-level=LEVEL        trace, debug, info, warn, error, fatal, silent (default info)
  --kubeconfig=PATH        report node conditions and per-port resources to Kubernetes
  --node-name=NAME         this node's Kubernetes name
  --observe-plug-types=LIST  plug types ovn-controller's built-in plugging plugs (e.g. representor):
                           never written, reported (default none: the agent plugs every type)
  --ownership-marker=KEY   ovn-plug-agent (default) or ovn-plugged (migration from built-in plugging)
  --mass-removal-share=S   within one Southbound session, hold a round of CMS removals above this
                           share of owned ports (default 0.5)…
  --mass-removal-min-ports=N  …and at least this many ports (default 8)
  --mass-removal-grace=D   how long a held removal waits: ports missing after a Southbound
                           reconnect/resync/restore, an identity change or at agent start, and
                           mass removals (default 60s)
  --resync-interval=D      periodic full replan (default 30s)
  --liveness-stall=D       /healthz fails when work (a reconcile round, an OVS transaction beyond
                           the OVSDB client's 60s limit, a provider run()) is pending this long
                           with no progress; a database that is down or stalled fails /readyz
                           only (default ${DEFAULT_LIVENESS_STALL_MS / 1000}s, minimum 1s)
  --devlink-command=PATH   devlink binary for the representor provider (default devlink)
  --representor-datapath=M auto (default: follow br-int's datapath_type), system, dpdk, doca
  --dpdk-representor-syntax=S  exclusive (default: (pf1)vf0) or plain (pf1vf0, DPDK before 25.11)
  --card-serial=auto|off   publish the DPU's PCI VPD serial as card-serial-number (default auto)
  --sysfs-root=PATH        sysfs mount (default /sys)
  --metrics-port-info-limit=N  ovn_plug_port_info series for every port up to N ports; above,
                           only ports not Bound (at most N); 0 = none (default ${DEFAULT_METRICS_PORT_INFO_LIMIT})

Every option has an environment twin: --ovs-db → ${envNameOf('ovs-db')}, and so on.
`;
}

function isCommand(arg: string): arg is Command {
  return (
    arg === 'run' ||
    arg === 'status' ||
    arg === 'providers' ||
    arg === 'remove-kube-status' ||
    arg === 'help' ||
    arg === 'version'
  );
}

/** A flag with a fixed set of values; the first is the default. */
function choiceFlag<const T extends string>(
  g: Given | undefined,
  choices: readonly [T, ...T[]],
  errors: string[],
): T {
  if (g === undefined) return choices[0];
  const found = choices.find((choice) => choice === g.value.trim());
  if (found !== undefined) return found;
  errors.push(`${g.source}: "${g.value}" is not one of ${choices.join(', ')}`);
  return choices[0];
}

function nonEmpty(g: Given | undefined, errors: string[]): string | undefined {
  if (g === undefined) return undefined;
  if (g.value.trim() === '') {
    errors.push(`${g.source}: empty value`);
    return undefined;
  }
  return g.value;
}

function missingTls(key?: string, cert?: string, ca?: string): string {
  const missing: string[] = [];
  if (key === undefined) missing.push('-p');
  if (cert === undefined) missing.push('-c');
  if (ca === undefined) missing.push('-C');
  return missing.join(', ');
}

/**
 * Checks one OVSDB active remote (`unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`, IPv6 in
 * brackets). Returns a description of the problem, or undefined when it is well-formed.
 */
export function checkRemote(remote: string): string | undefined {
  const colon = remote.indexOf(':');
  if (colon === -1) return 'expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT';
  const method = remote.slice(0, colon);
  const rest = remote.slice(colon + 1);
  if (method === 'unix') return rest === '' ? 'empty socket path' : undefined;
  if (method !== 'tcp' && method !== 'ssl') return `unknown connection method "${method}"`;
  const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(rest);
  if (hostPort === null) return 'expected HOST[:PORT]';
  const port = hostPort[2];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `port ${port} out of range`;
  return undefined;
}

/** Parses a comma-separated remote list; returns the list or a problem naming the bad element. */
export function parseRemoteList(raw: string): string[] | string {
  const parts = raw.split(',').map((s) => s.trim());
  const remotes: string[] = [];
  for (const part of parts) {
    if (part.startsWith('cid:')) continue;
    const problem = checkRemote(part);
    if (problem !== undefined) return `${problem} in "${part}"`;
    remotes.push(part);
  }
  if (remotes.length === 0) return `no remote in "${raw}"`;
  // Keep a cid: element: the OVSDB client pins the cluster with it.
  return parts.filter((p) => p.startsWith('cid:')).concat(remotes);
}

/** Parses `HOST:PORT` / `[V6]:PORT` / `:PORT` (all interfaces is not the default: say 0.0.0.0). */
export function parseListen(raw: string): ListenAddress | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(raw);
  if (m === null) return `"${raw}" is not HOST:PORT`;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `port in "${raw}" is out of range`;
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function parseShare(raw: string): number | undefined {
  const text = raw.trim();
  const percent = text.endsWith('%');
  const n = Number(percent ? text.slice(0, -1) : text);
  if (text === '' || !Number.isFinite(n)) return undefined;
  const share = percent ? n / 100 : n;
  return share > 0 && share <= 1 ? share : undefined;
}

/** Parses `500ms`, `30s`, `2m`, `1h` or a bare number of seconds into milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

function durationFlag(g: Given | undefined, fallback: number, minMs: number, errors: string[]): number {
  if (g === undefined) return fallback;
  const ms = parseDuration(g.value);
  if (ms === undefined) {
    errors.push(`${g.source}: "${g.value}" is not a duration (e.g. 500ms, 60s, 2m)`);
    return fallback;
  }
  if (ms < minMs) {
    errors.push(`${g.source}: "${g.value}" is below the minimum of ${minMs} ms`);
    return fallback;
  }
  return ms;
}
