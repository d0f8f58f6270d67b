import { describe, expect, it } from 'vitest';
import {
  createCredentialSource,
  parseExecCredential,
  runExecCredentialPlugin,
  type ExecCredentialStatus,
} from './credentials.js';
import type { ExecCredentialConfig, KubeConnection } from './kubeconfig.js';
import { KubeTransportError } from './errors.js';
import type { Clock } from './runtime.js';

const V1 = 'client.authentication.k8s.io/v1';

function steppedClock(start = Date.parse('2026-12-01T00:00:00Z')): Clock & { step(ms: number): void } {
  let now = start;
  return { now: () => now, step: (ms) => (now += ms), setTimer: () => ({ cancel: () => undefined }) };
}

const plugin = (overrides: Partial<ExecCredentialConfig> = {}): ExecCredentialConfig => ({
  command: process.execPath,
  args: [],
  env: {},
  apiVersion: V1,
  ...overrides,
});

const credential = (status: Record<string, unknown>, apiVersion = V1): string =>
  JSON.stringify({ apiVersion, kind: 'ExecCredential', status });

const execConnection = (exec: ExecCredentialConfig): KubeConnection => ({
  server: 'https://127.0.0.1:6443',
  insecureSkipTlsVerify: false,
  exec,
});

describe('exec credential source', () => {
  it('runs the plugin once until the credential expires, sharing one run between concurrent requests', async () => {
    const clock = steppedClock();
    let runs = 0;
    // The first run stays in flight until the test releases it: the three calls overlap it.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const source = createCredentialSource(execConnection(plugin()), {
      clock,
      execRunner: async (): Promise<ExecCredentialStatus> => {
        runs += 1;
        await gate;
        return { token: `t${runs}`, expiresAtMs: clock.now() + 60_000 };
      },
    });
    const concurrent = Promise.all([source.current(), source.current(), source.current()]);
    release();
    expect(await concurrent).toEqual([{ token: 't1' }, { token: 't1' }, { token: 't1' }]);
    clock.step(59_999);
    expect(await source.current()).toEqual({ token: 't1' });
    clock.step(1);
    expect(await source.current()).toEqual({ token: 't2' });
    expect(runs).toBe(2);
  });

  it('keeps a credential without expiry until the server refuses it, then runs the plugin again', async () => {
    let runs = 0;
    const source = createCredentialSource(execConnection(plugin()), {
      clock: steppedClock(),
      execRunner: () => Promise.resolve({ token: runs++ < 2 ? 'same' : 'new' }),
    });
    expect(await source.current()).toEqual({ token: 'same' });
    // The plugin hands out the same refused token: nothing fresher, the 401 stands.
    expect(await source.refreshAfterUnauthorized({ token: 'same' })).toBeUndefined();
    expect(await source.refreshAfterUnauthorized({ token: 'same' })).toEqual({ token: 'new' });
    expect(await source.current()).toEqual({ token: 'new' });
    expect(runs).toBe(3);
  });

  it('turns a plugin failure into a transport error and tries again on the next request', async () => {
    let fail = true;
    const source = createCredentialSource(execConnection(plugin({ command: 'get-token' })), {
      clock: steppedClock(),
      execRunner: () =>
        fail
          ? Promise.reject(new Error('exec credential plugin "get-token" failed'))
          : Promise.resolve({ token: 'ok' }),
    });
    const error = await source.current().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeTransportError);
    expect((error as Error).message).toBe('exec credential plugin "get-token" failed');
    fail = false;
    expect(await source.current()).toEqual({ token: 'ok' });
  });
});

describe('token file source', () => {
  it('re-reads the file at once after a 401 and offers the new token only when it changed', async () => {
    let token = 'old';
    const source = createCredentialSource(
      { server: 'https://k', insecureSkipTlsVerify: false, tokenFile: '/sa/token' },
      { readFile: () => `${token}\n`, clock: steppedClock(), tokenRefreshMs: 60_000 },
    );
    expect(await source.current()).toEqual({ token: 'old' });
    expect(await source.refreshAfterUnauthorized({ token: 'old' })).toBeUndefined();
    token = 'rotated';
    expect(await source.refreshAfterUnauthorized({ token: 'old' })).toEqual({ token: 'rotated' });
    expect(await source.current()).toEqual({ token: 'rotated' });
  });
});

describe('parseExecCredential', () => {
  it('accepts a token with an expiry, and a client certificate with key', () => {
    expect(
      parseExecCredential(
        plugin(),
        credential({ token: 'abc', expirationTimestamp: '2026-12-01T01:00:00Z' }),
      ),
    ).toEqual({
      token: 'abc',
      expiresAtMs: Date.parse('2026-12-01T01:00:00Z'),
    });
    expect(
      parseExecCredential(plugin(), credential({ clientCertificateData: 'C', clientKeyData: 'K' })),
    ).toEqual({
      clientCertPem: 'C',
      clientKeyPem: 'K',
    });
  });

  it.each([
    [
      'not JSON',
      'token=abc',
      'exec credential plugin "get-token" printed no JSON ExecCredential; its output starts with "token=abc"',
    ],
    [
      'another kind',
      JSON.stringify({ apiVersion: V1, kind: 'Secret' }),
      'printed JSON that is not an ExecCredential',
    ],
    [
      'another apiVersion',
      credential({ token: 'a' }, 'client.authentication.k8s.io/v1beta1'),
      'printed apiVersion "client.authentication.k8s.io/v1beta1", but the kubeconfig asks for "client.authentication.k8s.io/v1"',
    ],
    [
      'no status',
      JSON.stringify({ apiVersion: V1, kind: 'ExecCredential' }),
      'printed an ExecCredential without "status"',
    ],
    [
      'no credential',
      credential({ expirationTimestamp: '2026-12-01T01:00:00Z' }),
      'status has neither a token nor',
    ],
    [
      'a certificate without key',
      credential({ clientCertificateData: 'C' }),
      'status needs both clientCertificateData and clientKeyData',
    ],
    [
      'a bad expiry',
      credential({ token: 'a', expirationTimestamp: 'tomorrow' }),
      'status.expirationTimestamp "tomorrow" is not an RFC 3339 time',
    ],
    ['a numeric token', credential({ token: 42 }), 'status.token must be a string, got 42'],
  ])('names the plugin and the fault for %s', (_name, stdout, message) => {
    expect(() => parseExecCredential(plugin({ command: 'get-token' }), stdout)).toThrow(message);
  });
});

describe('runExecCredentialPlugin (real processes)', () => {
  it('passes args, env and KUBERNETES_EXEC_INFO (never interactive) and reads the credential', async () => {
    const script = `
      const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
      process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential',
        status: { token: [process.argv[1], process.env.MODE, String(info.spec.interactive), info.spec.cluster.server].join('|') } }));`;
    const status = await runExecCredentialPlugin(
      plugin({
        args: ['-e', script, 'arg1'],
        env: { MODE: 'm' },
        cluster: { server: 'https://k:6443' },
      }),
    );
    expect(status).toEqual({ token: 'arg1|m|false|https://k:6443' });
  });

  it('names the command and its stderr when it exits non-zero', async () => {
    const error = await runExecCredentialPlugin(
      plugin({ args: ['-e', 'console.error("no credentials for role ops"); process.exit(3)'] }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `exec credential plugin "${process.execPath}" failed (exit code 3): no credentials for role ops`,
    );
  });

  it('names a missing command and repeats its install hint', async () => {
    const error = await runExecCredentialPlugin(
      plugin({ command: '/nonexistent/get-token', installHint: 'install get-token from the ops repo\n' }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'exec credential plugin "/nonexistent/get-token" not found; install get-token from the ops repo',
    );
  });
});
