/**
 * Just enough of systemd's unit and environment-file syntax to run a unit's ExecStart the way
 * systemd would. Both parsers refuse what they do not implement (quotes, `$`/`%` expansion, exec
 * prefixes, backslash escapes), so a line that systemd would read differently fails the test
 * instead of being run with a different meaning.
 */

/** `[Section]` → its `Key=value` entries in order (repeated keys kept). */
export type UnitSections = ReadonlyMap<string, readonly (readonly [string, string])[]>;

export function parseUnitFile(text: string): UnitSections {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length)
      line = `${line.slice(0, -1)} ${(lines[++i] ?? '').trim()}`;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      current = [];
      sections.set(header[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || current === undefined) throw new Error(`unit file line ${i + 1}: cannot read "${line}"`);
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** The single value of `key` in `section`; throws when it is absent or given more than once. */
export function unitValue(unit: UnitSections, section: string, key: string): string {
  const values = (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
  if (values.length !== 1) throw new Error(`[${section}] ${key}: expected one value, found ${values.length}`);
  return values[0] ?? '';
}

/** ExecStart split as systemd splits it, for the plain form this parser accepts. */
export function execStartArgv(value: string): string[] {
  if (/^[-@:+!]/.test(value)) throw new Error(`ExecStart prefix not supported here: "${value}"`);
  if (/["'\\$%;]/.test(value)) throw new Error(`ExecStart with quotes, escapes or expansions: "${value}"`);
  const argv = value.split(/\s+/).filter((w) => w !== '');
  if (!argv[0]?.startsWith('/')) throw new Error(`ExecStart must start with an absolute path: "${value}"`);
  return argv;
}

/** `EnvironmentFile=` value: the path, and whether a missing file is allowed (`-` prefix). */
export function environmentFilePath(value: string): { path: string; optional: boolean } {
  return value.startsWith('-') ? { path: value.slice(1), optional: true } : { path: value, optional: false };
}

export interface EnvironmentFile {
  /** Active `KEY=value` lines. */
  readonly vars: ReadonlyMap<string, string>;
  /** `#KEY=value` lines: commented-out examples. */
  readonly examples: ReadonlyMap<string, string>;
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/**
 * Reads an environment file restricted to plain `KEY=value` lines, where systemd's reading
 * (which also knows quotes, escapes and continuation lines) gives exactly the text after `=`.
 */
export function parseEnvironmentFile(text: string): EnvironmentFile {
  const vars = new Map<string, string>();
  const examples = new Map<string, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const commented = line.startsWith('#') || line.startsWith(';');
    const body = commented ? line.slice(1).trim() : line;
    const m = ASSIGNMENT.exec(body);
    if (m === null) {
      if (commented) return;
      throw new Error(`environment file line ${index + 1}: not KEY=value: "${line}"`);
    }
    const [, key = '', value = ''] = m;
    if (/["'\\$`]/.test(value) || value !== value.trim()) {
      throw new Error(
        `environment file line ${index + 1}: ${key} has quotes, escapes, "$" or surrounding blanks ("${value}"); systemd would not pass it verbatim`,
      );
    }
    const target = commented ? examples : vars;
    if (target.has(key)) throw new Error(`environment file line ${index + 1}: ${key} set twice`);
    target.set(key, value);
  });
  return { vars, examples };
}

/**
 * The unit's privilege and file-system confinement, reproduced without systemd as a command
 * prefix: `unshare` gives a private mount namespace in which `/` is read-only except the
 * `ReadWritePaths` (`ProtectSystem=strict`), then `setpriv` sets the capability bounding,
 * inheritable and ambient sets, the secure bits and no-new-privileges, and executes the command.
 * `mapPath` maps each read-write path of the unit to the test's equivalent (the sandbox's OVS
 * run directory). The namespace-, device- and system-call-level directives (PrivateTmp,
 * PrivateDevices, SystemCallFilter, ...) need systemd itself and are not reproduced.
 */
export function confinementPrefix(unit: UnitSections, mapPath: (path: string) => string): string[] {
  const values = (key: string): string[] =>
    (unit.get('Service') ?? [])
      .filter(([k]) => k === key)
      .flatMap(([, v]) => v.split(/\s+/).filter((w) => w !== ''));
  const caps = (key: string): string => {
    const names = values(key).map((c) => {
      if (!/^CAP_[A-Z_]+$/.test(c)) throw new Error(`${key}: "${c}" is not a plain capability name`);
      return c.slice('CAP_'.length).toLowerCase();
    });
    return ['-all', ...names.map((n) => `+${n}`)].join(',');
  };
  const setpriv = ['setpriv', `--bounding-set=${caps('CapabilityBoundingSet')}`];
  const ambient = caps('AmbientCapabilities');
  setpriv.push(`--inh-caps=${ambient}`, `--ambient-caps=${ambient}`);
  const secureBits = values('SecureBits');
  if (secureBits.length > 0) {
    if (secureBits.join(' ') !== 'noroot-locked')
      throw new Error(`SecureBits=${secureBits.join(' ')} not reproduced here`);
    setpriv.push('--securebits=+noroot,+noroot_locked');
  }
  if (values('NoNewPrivileges').join('') === 'yes') setpriv.push('--no-new-privs');
  setpriv.push('--');

  if (values('ProtectSystem').join('') !== 'strict') return setpriv;
  const writable = values('ReadWritePaths').map((p) => mapPath(p.replace(/^-/, '')));
  for (const p of writable) {
    if (!/^\/[\w./-]*$/.test(p)) throw new Error(`read-write path "${p}" needs quoting; not reproduced here`);
  }
  const script = [
    'set -e',
    'mount --bind / /',
    'mount -o remount,bind,ro /',
    ...writable.flatMap((p) => [`mount --bind ${p} ${p}`, `mount -o remount,bind,rw ${p}`]),
    'exec "$@"',
  ].join('; ');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...setpriv];
}
