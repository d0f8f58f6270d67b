/**
 * Lifecycle of the Kubernetes test environment: a clear failure when the tools are not built,
 * no process or directory left behind by stop(), and kube-controller-manager on request
 * (garbage collection of objects owned by a Node, which the per-port resources rely on).
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessRegistry } from '../harness/index.js';
import { BUILD_COMMAND, KubeToolsMissingError, startKubeApiServer } from '../harness/kube/index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('kube-apiserver test environment lifecycle', () => {
  it('fails naming the build command when the binaries are missing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'kube-tools-'));
    try {
      const start = startKubeApiServer({ binDir: empty });
      await expect(start).rejects.toBeInstanceOf(KubeToolsMissingError);
      await expect(start).rejects.toThrow(BUILD_COMMAND);
      await expect(start).rejects.toThrow(`missing in ${empty}: etcd, helm, kube-apiserver`);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('collects objects owned by a deleted Node when the controller manager runs, and stops cleanly', async () => {
    const registry = new ProcessRegistry();
    const kube = await startKubeApiServer({ controllerManager: true, registry });
    const pids = registry.liveProcesses().map((p) => p.pid);
    try {
      expect(
        registry
          .liveProcesses()
          .map((p) => p.name)
          .sort(),
      ).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager']);
      const created = await kube.run('kubectl', ['create', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'gc-node' } }),
      });
      expect(created.exitCode).toBe(0);
      const nodeUid = await kube.kubectl('get', 'node', 'gc-node', '-o', 'jsonpath={.metadata.uid}');
      const owned = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'owned-by-gc-node',
          namespace: 'default',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'gc-node', uid: nodeUid }],
        },
      };
      expect(
        (await kube.run('kubectl', ['create', '-f', '-'], { input: JSON.stringify(owned) })).exitCode,
      ).toBe(0);
      await kube.kubectl('delete', 'node', 'gc-node', '--wait=true');
      await expect
        .poll(
          async () => (await kube.request('/api/v1/namespaces/default/configmaps/owned-by-gc-node')).status,
          {
            timeout: 30_000,
            interval: 200,
          },
        )
        .toBe(404);
    } finally {
      await kube.stop();
    }
    expect(registry.liveProcesses()).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(kube.dir)).toBe(false);
  });
});
