/**
 * Text rendering of status snapshots for a person at a terminal (`ovn-plug-agent status` and
 * `ovn-plug-agent providers`). Pure: the caller fetches the JSON and prints the result.
 */
import type { AgentStatus, DbStatus, ProviderInventoryReport } from './types.js';

/**
 * Renders `/status` as a header and one row per port, like `kubectl get -o wide`. `nowMs` is when
 * the agent answered (`answeredAtMs`), so ages do not depend on the reader's clock.
 */
export function formatStatusTable(status: AgentStatus, nowMs: number): string {
  const lines: string[] = [];
  lines.push(
    `chassis: ${status.chassis ?? '(unknown)'}   bridge: ${status.integrationBridge}${status.nodeName === undefined ? '' : `   node: ${status.nodeName}`}`,
  );
  lines.push(`southbound: ${formatDb(status.sb)}`);
  lines.push(`ovs:        ${formatDb(status.ovs)}`);
  lines.push(
    `providers:  ${status.providers.length === 0 ? '(none)' : status.providers.map((p) => (p.available ? p.type : `${p.type} (unavailable: ${p.reason ?? 'unknown'})`)).join(', ')}`,
  );
  lines.push(
    `snapshot:   ${new Date(status.generatedAtMs).toISOString()} (${formatAge(nowMs - status.generatedAtMs)} old)`,
  );
  if (status.heldRemovals !== undefined) {
    lines.push(
      `removal held: ${status.heldRemovals.count} port(s) until ${new Date(status.heldRemovals.untilMs).toISOString()} (removal guard)`,
    );
  }
  lines.push('');
  if (status.ports.length === 0) {
    lines.push('no ports requested for this chassis');
    return lines.join('\n') + '\n';
  }
  const rows = status.ports.map((p) => [
    p.logicalPort,
    p.state,
    p.reason,
    p.interfaceName ?? '-',
    p.ofport === undefined ? '-' : String(p.ofport),
    p.provider,
    formatAge(nowMs - p.sinceMs),
    p.bindLatencyMs === undefined ? '-' : `${(p.bindLatencyMs / 1000).toFixed(2)}s`,
    p.message,
  ]);
  lines.push(
    ...alignColumns([
      ['LOGICAL PORT', 'STATE', 'REASON', 'INTERFACE', 'OFPORT', 'PROVIDER', 'SINCE', 'BIND', 'MESSAGE'],
      ...rows,
    ]),
  );
  // Provider warnings (e.g. an unsupported port-function attribute) sit on ports that work, so the
  // STATE column does not show them; list them below the table like kubectl's events.
  const warned = status.ports.filter((p) => (p.warnings?.length ?? 0) > 0);
  if (warned.length > 0) {
    lines.push('', 'warnings:');
    for (const p of warned) for (const w of p.warnings ?? []) lines.push(`  ${p.logicalPort}: ${w}`);
  }
  return lines.join('\n') + '\n';
}

/** Renders `/providers`: every provider, its availability and what it could plug. */
export function formatProvidersTable(reports: readonly ProviderInventoryReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(
      `${report.type}: ${report.available ? 'available' : `unavailable (${report.reason ?? 'unknown reason'})`}`,
    );
    if (report.error !== undefined) lines.push(`  inventory failed: ${report.error}`);
    if (report.items === undefined) {
      if (report.error === undefined)
        lines.push('  (no inventory: the provider does not list what it can plug)');
    } else if (report.items.length === 0) {
      // A provider that plugs on demand (dummy) lists no targets; its notes say what it plugs.
      lines.push(
        report.notes === undefined || report.notes.length === 0
          ? '  nothing it could plug right now'
          : '  no fixed list of plug targets (see the note)',
      );
    } else {
      const rows = report.items.map((item) => [
        item.id,
        item.name ?? '-',
        item.logicalPort ?? '-',
        Object.entries(item.details)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' '),
      ]);
      lines.push(...alignColumns([['ID', 'NAME', 'LOGICAL PORT', 'DETAILS'], ...rows]).map((l) => `  ${l}`));
    }
    for (const note of report.notes ?? []) lines.push(`  note: ${note}`);
    if (report.ports !== undefined) {
      if (report.ports.length === 0) lines.push('  holds no ports');
      else {
        lines.push(`  holds ${report.ports.length} port(s):`);
        const rows = report.ports.map((p) => [p.logicalPort, p.interfaceName, p.state]);
        lines.push(...alignColumns([['LOGICAL PORT', 'INTERFACE', 'STATE'], ...rows]).map((l) => `    ${l}`));
      }
    }
  }
  if (reports.length === 0) lines.push('no providers registered');
  return lines.join('\n') + '\n';
}

function formatDb(db: DbStatus): string {
  return `${db.state}${db.synced ? ', synced' : ', not synced'}${db.remote === undefined ? '' : ` (${db.remote})`}, ${db.reconnects} reconnect(s)`;
}

/** `42s`, `3m12s`, `5h3m`, `2d4h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
