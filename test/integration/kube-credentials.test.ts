/**
 * Every way the agent's kubeconfig loader authenticates, against a REAL kube-apiserver (who the
 * server thinks we are comes from a SelfSubjectReview): client certificates from files and inline
 * data, a `tokenFile` and the in-cluster ServiceAccount directory with token rotation (the old
 * token is revoked by deleting the object it was bound to; the agent picks up the new file after
 * the 401), and exec credential plugins (small node scripts printing an ExecCredential with a real
 * ServiceAccount token or client certificate; v1 and v1beta1, expiry caching, re-run after a 401,
 * failures naming the command), one of them through the agent's own CLI.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  createKubeClient,
  inClusterConfig,
  loadKubeconfig,
  KubeApiError,
  KubeTransportError,
  type KubeConnection,
} from '../../src/agent/kube/index.js';
import { apiRequest, startKubeApiServer, type KubeApiServer } from '../harness/kube/index.js';
import { waitUntil } from '../harness/index.js';
import { prepareAgentCluster } from './support/kube-setup.js';

const NAMESPACE = 'ovn-plug';
const RELEASE = 'ovn-plug-agent';
const NODE = 'dpu-1';
const AGENT_USER = `system:serviceaccount:${NAMESPACE}:${RELEASE}`;
const V1 = 'client.authentication.k8s.io/v1';
const V1BETA1 = 'client.authentication.k8s.io/v1beta1';

/** Prints an ExecCredential of the requested apiVersion; counts its runs; TTL from the env. */
const PLUGIN = `#!/usr/bin/env node
import { appendFileSync, readFileSync } from 'node:fs';
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
appendFileSync(process.env.RUNS_FILE, \`\${info.apiVersion} interactive=\${info.spec.interactive}\\n\`);
const status = JSON.parse(readFileSync(process.env.CREDENTIAL_SOURCE, 'utf8'));
const ttl = Number(process.env.TTL_SECONDS ?? '3600');
status.expirationTimestamp = new Date(Date.now() + ttl * 1000).toISOString().replace(/\\.\\d+Z$/, 'Z');
process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential', status }));
`;

describe('kubeconfig credentials against a real API server', () => {
  let kube: KubeApiServer;
  let dir: string;

  beforeAll(async () => {
    kube = await startKubeApiServer();
    await prepareAgentCluster(kube, { namespace: NAMESPACE, release: RELEASE, node: NODE });
    // A fresh CRD answers 429 "storage is (re)initializing" for a moment after it is Established.
    await waitUntil(async () => (await kube.run('kubectl', ['get', 'portplugs'])).exitCode === 0, {
      timeoutMs: 30_000,
      description: 'PortPlug storage to be ready',
    });
    dir = await mkdtemp(join(tmpdir(), 'ovn-plug-credentials-'));
    await writeFile(join(dir, 'get-token.mjs'), PLUGIN, { mode: 0o755 });
  });

  afterAll(async () => {
    await kube?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Who the API server authenticates `connection` as. */
  const whoAmI = async (connection: KubeConnection): Promise<string> => {
    const review = await createKubeClient(connection).create<{ status: { userInfo: { username: string } } }>(
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    );
    return review.status.userInfo.username;
  };

  /** A kubeconfig in `dir` with the sandbox cluster (CA by file) and `user`. */
  const kubeconfig = async (name: string, user: Record<string, unknown>): Promise<string> => {
    const path = join(dir, name);
    await writeFile(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'sandbox', cluster: { server: kube.url, 'certificate-authority': kube.caFile } }],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'c', context: { cluster: 'sandbox', user: 'u' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    );
    return path;
  };

  /** Two agent tokens, each bound to its own Secret so that deleting the Secret revokes it. */
  const revocableTokens = async (
    prefix: string,
  ): Promise<{ first: string; second: string; revokeFirst(): Promise<void> }> => {
    await kube.kubectl('create', 'secret', 'generic', `${prefix}-first`, '-n', NAMESPACE);
    await kube.kubectl('create', 'secret', 'generic', `${prefix}-second`, '-n', NAMESPACE);
    const bound = (name: string) =>
      kube.serviceAccountToken(NAMESPACE, RELEASE, { boundObject: { kind: 'Secret', name } });
    const [first, second] = await Promise.all([bound(`${prefix}-first`), bound(`${prefix}-second`)]);
    return {
      first,
      second,
      async revokeFirst() {
        await kube.kubectl('delete', 'secret', `${prefix}-first`, '-n', NAMESPACE);
        await waitUntil(
          async () =>
            (
              await apiRequest(`${kube.url}/api/v1/nodes/${NODE}`, {
                ca: await readFile(kube.caFile),
                token: first,
              })
            ).status === 401,
          { timeoutMs: 30_000, description: 'the first token to be refused once its Secret is gone' },
        );
      },
    };
  };

  /** Replaces a file the way the kubelet rotates projected tokens: write aside, then rename. */
  const replaceFile = async (path: string, text: string): Promise<void> => {
    await writeFile(`${path}.new`, text, { mode: 0o600 });
    await rename(`${path}.new`, path);
  };

  it('authenticates with a client certificate from files and from inline data', async () => {
    const files = await kube.clientCertificate('cert-user', ['ops']);
    const fromFiles = await kubeconfig('cert-files.kubeconfig', {
      'client-certificate': files.certFile,
      'client-key': files.keyFile,
    });
    expect(await whoAmI(loadKubeconfig(fromFiles))).toBe('cert-user');

    const inline = await kube.clientCertificate('inline-cert-user');
    const base64 = async (path: string): Promise<string> => (await readFile(path)).toString('base64');
    const fromData = await kubeconfig('cert-data.kubeconfig', {
      'client-certificate-data': await base64(inline.certFile),
      'client-key-data': await base64(inline.keyFile),
    });
    expect(await whoAmI(loadKubeconfig(fromData))).toBe('inline-cert-user');
  });

  it('follows a rotated tokenFile (relative to the kubeconfig) once the old token is revoked', async () => {
    const tokens = await revocableTokens('tokenfile');
    await mkdir(join(dir, 'secrets'), { recursive: true });
    await writeFile(join(dir, 'secrets/token'), tokens.first, { mode: 0o600 });
    const connection = loadKubeconfig(
      await kubeconfig('token-file.kubeconfig', { tokenFile: 'secrets/token' }),
    );
    expect(connection.tokenFile).toBe(join(dir, 'secrets/token'));
    const client = createKubeClient(connection);
    expect((await client.get<{ metadata: { name: string } }>(`/api/v1/nodes/${NODE}`)).metadata.name).toBe(
      NODE,
    );

    await replaceFile(join(dir, 'secrets/token'), tokens.second);
    await tokens.revokeFirst();
    // The same client still holds the first token (re-read every 60 s): the 401 makes it re-read now.
    expect((await client.get<{ metadata: { name: string } }>(`/api/v1/nodes/${NODE}`)).metadata.name).toBe(
      NODE,
    );
  });

  it('in-cluster: uses the ServiceAccount directory and follows projected-token rotation', async () => {
    const tokens = await revocableTokens('incluster');
    const serviceAccountDir = join(dir, 'serviceaccount');
    await mkdir(serviceAccountDir, { recursive: true });
    await writeFile(join(serviceAccountDir, 'ca.crt'), await readFile(kube.caFile));
    await writeFile(join(serviceAccountDir, 'namespace'), NAMESPACE);
    await writeFile(join(serviceAccountDir, 'token'), tokens.first);
    const { port } = new URL(kube.url);
    const connection = inClusterConfig({
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
      serviceAccountDir,
    });
    expect(connection.namespace).toBe(NAMESPACE);
    const client = createKubeClient(connection);
    const review = () =>
      client.create<{ status: { userInfo: { username: string } } }>(
        '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      );
    expect((await review()).status.userInfo.username).toBe(AGENT_USER);
    await replaceFile(join(serviceAccountDir, 'token'), tokens.second);
    await tokens.revokeFirst();
    expect((await review()).status.userInfo.username).toBe(AGENT_USER);
  });

  describe('exec credential plugins', () => {
    const runs = async (file: string): Promise<string[]> =>
      (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '');

    /** A kubeconfig whose user runs get-token.mjs; the credential it prints comes from a file. */
    const execKubeconfig = async (
      name: string,
      apiVersion: string,
      credential: Record<string, unknown>,
      options: { ttlSeconds?: number; relativeCommand?: boolean } = {},
    ): Promise<{ path: string; runsFile: string; credentialFile: string }> => {
      const runsFile = join(dir, `${name}.runs`);
      const credentialFile = join(dir, `${name}.credential.json`);
      await writeFile(credentialFile, JSON.stringify(credential), { mode: 0o600 });
      const path = await kubeconfig(`${name}.kubeconfig`, {
        exec: {
          apiVersion,
          // `./get-token.mjs` is resolved against the kubeconfig's directory and found by its
          // shebang through the inherited PATH; otherwise node runs the script.
          command: options.relativeCommand === true ? './get-token.mjs' : process.execPath,
          args: options.relativeCommand === true ? [] : [join(dir, 'get-token.mjs')],
          env: [
            { name: 'RUNS_FILE', value: runsFile },
            { name: 'CREDENTIAL_SOURCE', value: credentialFile },
            { name: 'TTL_SECONDS', value: String(options.ttlSeconds ?? 3600) },
          ],
          ...(apiVersion === V1 && { interactiveMode: 'Never' }),
          installHint: 'get-token.mjs comes with the test',
        },
      });
      return { path, runsFile, credentialFile };
    };

    const inherited = { PATH: process.env['PATH'] };

    it('v1: a real ServiceAccount token, the plugin run once while the credential is valid', async () => {
      const token = await kube.serviceAccountToken(NAMESPACE, RELEASE);
      const config = await execKubeconfig('exec-v1', V1, { token });
      const connection = loadKubeconfig(config.path, { env: inherited });
      const client = createKubeClient(connection);
      const review = () =>
        client.create<{ status: { userInfo: { username: string } } }>(
          '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        );
      expect((await review()).status.userInfo.username).toBe(AGENT_USER);
      await Promise.all([review(), review(), client.get(`/api/v1/nodes/${NODE}`)]);
      expect(await runs(config.runsFile)).toEqual([`${V1} interactive=false`]);
    });

    it('v1beta1: runs the plugin again once its credential expired (command relative to the kubeconfig)', async () => {
      await chmod(join(dir, 'get-token.mjs'), 0o755);
      const token = await kube.serviceAccountToken(NAMESPACE, RELEASE);
      const config = await execKubeconfig(
        'exec-v1beta1',
        V1BETA1,
        { token },
        { ttlSeconds: 2, relativeCommand: true },
      );
      const connection = loadKubeconfig(config.path, { env: inherited });
      expect(connection.exec?.command).toBe(join(dir, 'get-token.mjs'));
      const client = createKubeClient(connection);
      await client.get(`/api/v1/nodes/${NODE}`);
      await client.get(`/api/v1/nodes/${NODE}`);
      expect(await runs(config.runsFile)).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      await client.get(`/api/v1/nodes/${NODE}`);
      expect(await runs(config.runsFile)).toEqual([
        `${V1BETA1} interactive=false`,
        `${V1BETA1} interactive=false`,
      ]);
    });

    it('runs the plugin again after a 401, and a refused credential that stays the same is a 401', async () => {
      const config = await execKubeconfig('exec-refused', V1, { token: 'not-a-token' });
      const client = createKubeClient(loadKubeconfig(config.path, { env: inherited }));
      const refused = await client.get(`/api/v1/nodes/${NODE}`).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(KubeApiError);
      expect((refused as KubeApiError).code).toBe(401);
      expect(await runs(config.runsFile)).toHaveLength(2);

      await writeFile(
        config.credentialFile,
        JSON.stringify({ token: await kube.serviceAccountToken(NAMESPACE, RELEASE) }),
      );
      expect((await client.get<{ metadata: { name: string } }>(`/api/v1/nodes/${NODE}`)).metadata.name).toBe(
        NODE,
      );
      expect(await runs(config.runsFile)).toHaveLength(3);
    });

    it('authenticates with a client certificate the plugin prints', async () => {
      const cert = await kube.clientCertificate('exec-cert-user');
      const config = await execKubeconfig('exec-cert', V1, {
        clientCertificateData: await readFile(cert.certFile, 'utf8'),
        clientKeyData: await readFile(cert.keyFile, 'utf8'),
      });
      expect(await whoAmI(loadKubeconfig(config.path, { env: inherited }))).toBe('exec-cert-user');
    });

    it('fails with errors naming the command: its stderr, or its install hint when missing', async () => {
      const failing = await kubeconfig('exec-failing.kubeconfig', {
        exec: {
          apiVersion: V1,
          interactiveMode: 'Never',
          command: process.execPath,
          args: ['-e', 'console.error("role ops is not granted to you"); process.exit(2)'],
        },
      });
      const error = await whoAmI(loadKubeconfig(failing, { env: inherited })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KubeTransportError);
      expect((error as Error).message).toBe(
        `exec credential plugin "${process.execPath}" failed (exit code 2): role ops is not granted to you`,
      );
      const missing = await kubeconfig('exec-missing.kubeconfig', {
        exec: {
          apiVersion: V1BETA1,
          command: 'ovn-plug-no-such-plugin',
          installHint: 'Install it from the ops repo.',
        },
      });
      const notFound = await whoAmI(loadKubeconfig(missing, { env: inherited })).catch((e: unknown) => e);
      expect((notFound as Error).message).toBe(
        'exec credential plugin "ovn-plug-no-such-plugin" not found; Install it from the ops repo.',
      );
    });

    it('the agent CLI (remove-kube-status) authenticates through an exec plugin with its inherited environment', async () => {
      const token = await kube.serviceAccountToken(NAMESPACE, RELEASE);
      const config = await execKubeconfig('exec-cli', V1, { token }, { relativeCommand: true });
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            'src/agent/cli.ts',
            'remove-kube-status',
            `--node-name=${NODE}`,
            `--kubeconfig=${config.path}`,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(result.stdout).toContain('removed conditions from');
      expect(await runs(config.runsFile)).toEqual([`${V1} interactive=false`]);
    });
  });
});
