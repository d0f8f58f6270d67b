import { describe, expect, it } from 'vitest';
import { inClusterConfig, loadKubeconfig } from './kubeconfig.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIca\n-----END CERTIFICATE-----\n';
const b64 = (text: string) => Buffer.from(text).toString('base64');

function files(map: Record<string, string>) {
  return (path: string): string => {
    const text = map[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  };
}

const KUBECONFIG = `
apiVersion: v1
kind: Config
current-context: agent
contexts:
  - name: agent
    context: { cluster: sandbox, user: agent-sa, namespace: ovn-plug }
  - name: admin
    context: { cluster: sandbox, user: admin }
clusters:
  - name: sandbox
    cluster:
      server: https://127.0.0.1:6443/
      certificate-authority: pki/ca.crt
users:
  - name: agent-sa
    user: { token: secret-token }
  - name: admin
    user:
      client-certificate-data: ${b64('-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n')}
      client-key-data: ${b64('-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n')}
`;

describe('loadKubeconfig', () => {
  const readFile = files({ '/etc/kube/config': KUBECONFIG, '/etc/kube/pki/ca.crt': CA });

  it('resolves the current context, a token, and a CA file relative to the kubeconfig', () => {
    expect(loadKubeconfig('/etc/kube/config', { readFile })).toEqual({
      server: 'https://127.0.0.1:6443',
      caPem: CA,
      token: 'secret-token',
      namespace: 'ovn-plug',
      insecureSkipTlsVerify: false,
    });
  });

  it('decodes inline client certificate and key data for another context', () => {
    const connection = loadKubeconfig('/etc/kube/config', { readFile, context: 'admin' });
    expect(connection.clientCertPem).toContain('BEGIN CERTIFICATE');
    expect(connection.clientKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(connection.token).toBeUndefined();
  });

  it.each([
    [
      'a missing context',
      { context: 'nope' },
      KUBECONFIG,
      'kubeconfig /etc/kube/config: no context named "nope"',
    ],
    [
      'a bad server',
      {},
      KUBECONFIG.replace('https://127.0.0.1:6443/', 'ftp://x'),
      '"server" must be an http(s) URL, got "ftp://x"',
    ],
    [
      'exec credentials',
      {},
      KUBECONFIG.replace('{ token: secret-token }', '{ exec: { command: aws } }'),
      '"exec" credentials are not supported',
    ],
    [
      'an unreadable CA file',
      {},
      KUBECONFIG.replace('pki/ca.crt', 'missing.crt'),
      'cannot read certificate-authority "/etc/kube/missing.crt"',
    ],
    ['not YAML', {}, ': : :\n\t- [', 'cannot read or parse it'],
  ])('names the problem for %s', (_name, options, text, message) => {
    const read = files({ '/etc/kube/config': text, '/etc/kube/pki/ca.crt': CA });
    expect(() => loadKubeconfig('/etc/kube/config', { ...options, readFile: read })).toThrow(message);
  });
});

describe('inClusterConfig', () => {
  const readFile = files({ '/sa/ca.crt': CA, '/sa/namespace': 'ovn-plug\n', '/sa/token': 't' });

  it('uses the service environment and the ServiceAccount files, re-reading the token file', () => {
    expect(
      inClusterConfig({
        env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountDir: '/sa',
        readFile,
      }),
    ).toEqual({
      server: 'https://[fd00::1]:443',
      caPem: CA,
      tokenFile: '/sa/token',
      namespace: 'ovn-plug',
      insecureSkipTlsVerify: false,
    });
  });

  it('says what is missing outside a pod', () => {
    expect(() => inClusterConfig({ env: {}, serviceAccountDir: '/sa', readFile })).toThrow(
      'not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (or pass --kubeconfig)',
    );
    expect(() =>
      inClusterConfig({
        env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: 'https' },
        serviceAccountDir: '/sa',
        readFile,
      }),
    ).toThrow('KUBERNETES_SERVICE_PORT must be a port number, got "https"');
  });
});
