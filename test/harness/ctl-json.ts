/**
 * Decoding of the tables `ovs-vsctl`/`ovn-nbctl`/`ovn-sbctl --format=json --data=json` print.
 * Values arrive in RFC 7047 notation; tests want plain values, so: `["uuid", u]` → `u`,
 * `["set", [...]]` → array (a one-element set arrives as the bare atom and stays one),
 * `["map", [[k, v]...]]` → object. An empty optional column therefore reads as `[]`.
 */

/** A decoded row: column name → plain value. */
export type CtlRow = Record<string, unknown>;

/** Parses the whole JSON table output of a `*ctl --format=json --data=json list|find` command. */
export function parseCtlTable(stdout: string): CtlRow[] {
  const table: unknown = JSON.parse(stdout);
  if (typeof table !== 'object' || table === null || !('headings' in table) || !('data' in table)) {
    throw new Error(`not a ctl JSON table: ${stdout.slice(0, 200)}`);
  }
  const { headings, data } = table;
  if (!Array.isArray(headings) || !Array.isArray(data))
    throw new Error(`not a ctl JSON table: ${stdout.slice(0, 200)}`);
  return data.map((cells: unknown) => {
    if (!Array.isArray(cells)) throw new Error(`ctl JSON row is not an array: ${JSON.stringify(cells)}`);
    const row: CtlRow = {};
    headings.forEach((heading: unknown, index) => {
      row[String(heading)] = decodeValue(cells[index]);
    });
    return row;
  });
}

/** Decodes one RFC 7047 value (atom, set, map, uuid, named-uuid) into a plain value. */
export function decodeValue(value: unknown): unknown {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') return value;
  const [tag, body] = value as [string, unknown];
  switch (tag) {
    case 'uuid':
    case 'named-uuid':
      return body;
    case 'set':
      return Array.isArray(body) ? body.map(decodeValue) : body;
    case 'map': {
      const result: Record<string, unknown> = {};
      if (Array.isArray(body)) {
        for (const pair of body) {
          if (Array.isArray(pair)) result[String(decodeValue(pair[0]))] = decodeValue(pair[1]);
        }
      }
      return result;
    }
    default:
      return value;
  }
}

/** A decoded map column as string → string (for `external_ids`, `options`, ...). */
export function asStringMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

/** A decoded optional scalar column: `undefined` when the set is empty. */
export function optionalValue(value: unknown): unknown {
  return Array.isArray(value) && value.length === 0 ? undefined : value;
}
