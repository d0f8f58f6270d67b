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
