/**
 * The chart's alert rules, unit-tested by the REAL promtool as kube-prometheus tests its mixin.
 * One source: the rules file is cut out of `helm template` of the chart; each alert group has its
 * own promtool test file, test/monitoring/<group>.test.yaml, and every alert there has at least
 * one case where it fires under its fault and one where it stays silent.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseCommandLine } from '../../src/agent/config.js';
import { CommandError, runCommand, TOOL_PATH } from '../harness/index.js';
import {
  type Manifest,
  PROMTOOL,
  renderChart,
  requirePrometheusTools,
  ruleGroups,
  type RuleGroup,
} from './support/monitoring.js';

const TESTS_DIR = resolve('test/monitoring');
const RULES_FILE = 'ovn-plug-agent.rules.yaml';

interface PromtoolTestFile {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

let dir: string;
let groups: RuleGroup[];

/** `<group>.test.yaml` for group `ovn-plug-agent.<group>`. */
function testFileOf(group: RuleGroup): string {
  return `${group.name.replace(/^ovn-plug-agent\./, '')}.test.yaml`;
}

async function writeRules(target: string, from: RuleGroup[]): Promise<void> {
  await writeFile(join(target, RULES_FILE), stringify({ groups: from }));
}

async function promtool(args: string[], cwd: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await runCommand(PROMTOOL, args, {
      env: { PATH: TOOL_PATH },
      cwd,
      timeoutMs: 60_000,
    });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    if (error instanceof CommandError) return { ok: false, output: error.stdout + error.stderr };
    throw error;
  }
}

beforeAll(async () => {
  await requirePrometheusTools();
  dir = await mkdtemp(join(tmpdir(), 'h-promtool-'));
  groups = ruleGroups(await renderChart());
  await writeRules(dir, groups);
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('alert rules from the chart', () => {
  it('pass promtool check rules', async () => {
    const result = await promtool(['check', 'rules', RULES_FILE], dir);
    expect(result.output).toMatch(/SUCCESS: 8 rules found/);
    expect(result.ok).toBe(true);
  });

  it('are the groups and alerts this suite covers', () => {
    expect(groups.map((g) => [g.name, g.rules.map((r) => r.alert)])).toEqual([
      [
        'ovn-plug-agent.availability',
        ['OvnPlugAgentAbsent', 'OvnPlugAgentDown', 'OvnPlugDatabaseDisconnected'],
      ],
      ['ovn-plug-agent.ports', ['OvnPlugPortsNotBound', 'OvnPlugProviderUnavailable', 'OvnPlugRemovalsHeld']],
      ['ovn-plug-agent.writes', ['OvnPlugOvsTransactionErrors', 'OvnPlugKubeWriteErrors']],
    ]);
  });

  it('every alert has a severity, a summary and a description', () => {
    for (const rule of groups.flatMap((g) => g.rules)) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.['severity']);
      expect(rule.annotations?.['summary'], rule.alert).toBeTruthy();
      expect(rule.annotations?.['description'], rule.alert).toBeTruthy();
    }
  });

  it('each alert has a firing case and a silent case in its group file', async () => {
    for (const group of groups) {
      const file = parse(await readFile(join(TESTS_DIR, testFileOf(group)), 'utf8')) as PromtoolTestFile;
      const cases = file.tests.flatMap((t) => t.alert_rule_test ?? []);
      for (const { alert } of group.rules) {
        const mine = cases.filter((c) => c.alertname === alert);
        expect(
          mine.some((c) => (c.exp_alerts ?? []).length > 0),
          `${alert}: a case where it fires`,
        ).toBe(true);
        expect(
          mine.some((c) => (c.exp_alerts ?? []).length === 0),
          `${alert}: a case where it stays silent`,
        ).toBe(true);
      }
      // No case for an alert that is not in this group (a renamed alert would test nothing).
      const names = new Set(group.rules.map((r) => r.alert));
      expect(cases.map((c) => c.alertname).filter((n) => !names.has(n))).toEqual([]);
    }
  });

  it.each(['availability', 'ports', 'writes'])('pass promtool test rules %s.test.yaml', async (name) => {
    await copyFile(join(TESTS_DIR, `${name}.test.yaml`), join(dir, `${name}.test.yaml`));
    const result = await promtool(['test', 'rules', `${name}.test.yaml`], dir);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.ok).toBe(true);
  });

  it('renders the up/absent alerts only for a known job label', async () => {
    const own = (await renderChart({ 'metrics.serviceMonitor.enabled': 'false' })).filter(
      (m) => m.kind === 'PrometheusRule',
    );
    const names = ruleGroups(own).flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).not.toContain('OvnPlugAgentAbsent');
    expect(names).not.toContain('OvnPlugAgentDown');
    expect(names).toContain('OvnPlugDatabaseDisconnected');
    const custom = ruleGroups(
      await renderChart({
        'metrics.serviceMonitor.enabled': 'false',
        'metrics.prometheusRule.agentJob': 'dpu-agents',
      }),
    ).flatMap((g) => g.rules);
    expect(custom.find((r) => r.alert === 'OvnPlugAgentDown')?.expr).toBe(
      'up{job="dpu-agents", namespace="ovn-plug"} == 0',
    );
  });

  it('the promtool tests fail when an alert changes (the suite can catch a regression)', async () => {
    // Rendered with a longer bound: the "fires after 10m" case must now fail.
    const changed = ruleGroups(await renderChart({ 'metrics.prometheusRule.portsNotBoundFor': '30m' }));
    const other = await mkdtemp(join(tmpdir(), 'h-promtool-'));
    try {
      await writeRules(other, changed);
      await copyFile(join(TESTS_DIR, 'ports.test.yaml'), join(other, 'ports.test.yaml'));
      const result = await promtool(['test', 'rules', 'ports.test.yaml'], other);
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(/OvnPlugPortsNotBound/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('metrics.portInfoLimit', () => {
  function agentArgs(all: Manifest[]): string[] {
    const ds = all.find((m) => m.kind === 'DaemonSet') as unknown as {
      spec: { template: { spec: { containers: { name: string; args: string[] }[] } } };
    };
    return ds.spec.template.spec.containers.find((c) => c.name === 'agent')?.args ?? [];
  }

  it('passes --metrics-port-info-limit only when set, as a value the agent accepts', async () => {
    expect(agentArgs(await renderChart()).filter((a) => a.startsWith('--metrics-port-info'))).toEqual([]);
    for (const value of ['0', '500']) {
      const args = agentArgs(await renderChart({ 'metrics.portInfoLimit': value }));
      expect(args).toContain(`--metrics-port-info-limit=${value}`);
      const parsed = parseCommandLine(
        args.map((a) => a.replace('$(NODE_NAME)', 'dpu-1')),
        {},
      );
      expect(parsed.ok && parsed.config.metricsPortInfoLimit).toBe(Number(value));
    }
  });
});
