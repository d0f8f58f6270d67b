/**
 * The veth example provider against the real kernel, inside a network namespace created for the
 * test (needs root and iproute2; skipped with the reason when `ip netns add` is not allowed).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlugAnswer, PlugReady, PlugRequest, ProviderLogger } from '../../src/plug/provider.js';
import { VethProvider, hostEndName } from './index.js';

const NETNS = `veth-example-${process.pid}`;
const canUseNetns = spawnSync('ip', ['netns', 'add', NETNS]).status === 0;

const warnings: string[] = [];
const logger: ProviderLogger = {
  debug: () => undefined,
  info: () => undefined,
  error: () => undefined,
  warn: (_fields, message) => warnings.push(message ?? ''),
};

function linksInNetns(): Map<string, string | undefined> {
  const out = execFileSync('ip', ['-n', NETNS, '-j', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' });
  const list = JSON.parse(out === '' ? '[]' : out) as { ifname: string; link?: string }[];
  return new Map(list.map((l) => [l.ifname, l.link]));
}

const create = (logicalPort: string, peer?: string): PlugRequest => ({
  operation: 'create',
  logicalPort,
  options:
    peer === undefined
      ? { 'vif-plug-type': 'veth' }
      : { 'vif-plug-type': 'veth', 'vif-plug:veth:peer': peer },
});

async function until(provider: VethProvider, request: PlugRequest): Promise<PlugAnswer> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const answer = provider.prepare(request);
    if (answer.kind === 'ready' || (answer.code !== 'CreatingVeth' && answer.code !== undefined))
      return answer;
    if (Date.now() > deadline) throw new Error(`still not ready: ${answer.reason}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await provider.run();
  }
}

beforeAll(() => {
  if (!canUseNetns) console.error(`skipping veth tests: "ip netns add ${NETNS}" is not allowed here`);
});

afterAll(() => {
  if (canUseNetns) spawnSync('ip', ['netns', 'del', NETNS]);
});

describe.runIf(canUseNetns)('VethProvider in a private network namespace', () => {
  it('names the host end from the logical port, within 15 characters', () => {
    expect(hostEndName('lsp-0123456789-abcdef')).toMatch(/^vh[0-9a-f]{13}$/);
    expect(hostEndName('a')).not.toBe(hostEndName('b'));
  });

  it('creates the pair in the background, then plugs the host end; removal deletes it after commit', async () => {
    const provider = new VethProvider({ logger }, { netns: NETNS });
    await provider.init();
    const request = create('lsp-container-1', 'ctr1eth0');
    const host = hostEndName('lsp-container-1');

    const first = provider.prepare(request);
    expect(first).toEqual({
      kind: 'notNow',
      code: 'CreatingVeth',
      reason: `creating veth ${host} with peer "ctr1eth0"`,
    });
    const ready = await until(provider, request);
    expect(ready).toEqual({ kind: 'ready', name: host, options: {} });
    expect(linksInNetns().get(host)).toBe('ctr1eth0');
    expect(linksInNetns().get('ctr1eth0')).toBe(host);
    expect(provider.inventory().items).toEqual([{ id: host, name: host, details: { peer: 'ctr1eth0' } }]);

    const mismatch = provider.prepare(create('lsp-container-1', 'other0'));
    expect(mismatch).toMatchObject({ kind: 'notNow', code: 'PeerMismatch' });

    const removal: PlugRequest = {
      ...request,
      operation: 'remove',
      existing: { name: host, type: '', options: {} },
    };
    const removeAnswer = provider.prepare(removal);
    expect(removeAnswer).toEqual({ kind: 'ready', name: host, options: {} });
    expect(linksInNetns().has(host)).toBe(true);
    provider.finish(removal, removeAnswer as PlugReady);
    const deadline = Date.now() + 5_000;
    while (linksInNetns().has(host) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(linksInNetns().has(host)).toBe(false);
    expect(await provider.run()).toBe(true);
  });

  it("a failing ip link add is reported with the kernel's message and retried later", async () => {
    let now = 1_000;
    const provider = new VethProvider({ logger }, { netns: NETNS, retryMs: 2_000, now: () => now });
    await provider.init();
    execFileSync('ip', ['-n', NETNS, 'link', 'add', 'taken0', 'type', 'veth', 'peer', 'name', 'taken1']);
    const request = create('lsp-clash', 'taken0');
    provider.prepare(request);
    const failed = await until(provider, request);
    expect(failed).toMatchObject({ kind: 'notNow', code: 'VethCreateFailed' });
    expect(failed.kind === 'notNow' ? failed.reason : '').toMatch(
      /creating veth vh[0-9a-f]{13} with peer "taken0" failed: .*File exists/,
    );
    expect(warnings).toContain('veth provider: creating the veth failed');
    execFileSync('ip', ['-n', NETNS, 'link', 'del', 'taken0']);
    now += 2_001;
    expect(await until(provider, request)).toMatchObject({ kind: 'ready', name: hostEndName('lsp-clash') });
  });

  it('explains missing and malformed peer options', () => {
    const provider = new VethProvider({ logger }, { netns: NETNS });
    expect(provider.prepare(create('lsp-x'))).toEqual({
      kind: 'notNow',
      code: 'MissingPeer',
      reason: 'option "vif-plug:veth:peer" is missing',
    });
    const malformed = provider.prepare(create('lsp-x', 'far-too-long-name0'));
    expect(malformed).toMatchObject({ kind: 'notNow', code: 'MalformedPeer' });
    expect(malformed.kind === 'notNow' ? malformed.reason : '').toContain('"far-too-long-name0"');
  });

  it('init fails (provider unavailable) when the namespace does not exist', async () => {
    const provider = new VethProvider({ logger }, { netns: `${NETNS}-missing` });
    await expect(provider.init()).rejects.toThrow(/cannot list veth links with "ip": .*/);
  });
});
