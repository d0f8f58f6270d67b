/**
 * The representor's link state from an injected sysfs root (DESIGN §3.5 `Down`): fixture files
 * written to a temporary directory stand for `/sys/class/net/<netdev>/operstate`.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperstateCache, operstatePath, parseOperstate } from '../../src/providers/representor/operstate.js';

let root: string | undefined;
afterEach(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

async function sysfs(states: Record<string, string>): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'sysfs-'));
  for (const [netdev, state] of Object.entries(states)) await setState(root, netdev, state);
  return root;
}

async function setState(sysfsRoot: string, netdev: string, state: string): Promise<void> {
  await mkdir(join(sysfsRoot, 'class', 'net', netdev), { recursive: true });
  await writeFile(operstatePath(sysfsRoot, netdev), `${state}\n`);
}

describe('representor operstate', () => {
  it('maps kernel operstates: up, down and lowerlayerdown are known; others are not', () => {
    expect(parseOperstate('pf0vf1', 'up\n')).toEqual({ up: true });
    expect(parseOperstate('pf0vf1', 'down\n')).toEqual({
      up: false,
      reason: 'representor netdev "pf0vf1" has operstate down',
    });
    expect(parseOperstate('pf0vf1', 'lowerlayerdown')).toMatchObject({ up: false });
    expect(parseOperstate('pf0vf1', 'unknown')).toBeUndefined();
    expect(parseOperstate('pf0vf1', 'dormant')).toBeUndefined();
  });

  it('answers from the cache, learns on refresh, and reports changes so the agent replans', async () => {
    const dir = await sysfs({ pf0vf1: 'up', pf0vf2: 'down' });
    const cache = new OperstateCache(dir, (path) => readFile(path, 'utf8'));
    expect(cache.get('pf0vf1')).toBeUndefined(); // first sight: registered, read on refresh
    expect(cache.get('pf0vf2')).toBeUndefined();
    expect(cache.get('gone0')).toBeUndefined();
    expect(await cache.refresh()).toBe(true);
    expect(cache.get('pf0vf1')).toEqual({ up: true });
    expect(cache.get('pf0vf2')).toMatchObject({ up: false });
    expect(cache.get('gone0')).toBeUndefined(); // no such netdev: unknown, never down
    expect(await cache.refresh()).toBe(false);
    await setState(dir, 'pf0vf1', 'down');
    expect(await cache.refresh()).toBe(true);
    expect(cache.get('pf0vf1')).toMatchObject({ up: false });
  });
});
