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

  it('resolves an exec plugin: command against the kubeconfig directory, inherited env plus its own, cluster info', () => {
    const text = KUBECONFIG.replace(
      '{ token: secret-token }',
      `
        exec:
          apiVersion: client.authentication.k8s.io/v1
          command: ./bin/get-token
          args: [--audience, api]
          env: [{ name: MODE, value: node }, { name: PATH, value: /opt/bin }]
          interactiveMode: IfAvailable
          installHint: install get-token from the ops repo
          provideClusterInfo: true`,
    ).replace(
      '      certificate-authority: pki/ca.crt',
      `      certificate-authority-data: ${b64(CA)}
      extensions: [{ name: client.authentication.k8s.io/exec, extension: { audience: api } }]`,
    );
    const connection = loadKubeconfig('/etc/kube/config', {
      readFile: files({ '/etc/kube/config': text }),
      env: { PATH: '/usr/bin', HOME: '/root', UNSET: undefined },
    });
    expect(connection.token).toBeUndefined();
    expect(connection.exec).toEqual({
      command: '/etc/kube/bin/get-token',
      args: ['--audience', 'api'],
      env: { PATH: '/opt/bin', HOME: '/root', MODE: 'node' },
      apiVersion: 'client.authentication.k8s.io/v1',
      installHint: 'install get-token from the ops repo',
      cluster: {
        server: 'https://127.0.0.1:6443/',
        'certificate-authority-data': b64(CA),
        config: { audience: 'api' },
      },
    });
    const onPath = loadKubeconfig('/etc/kube/config', {
      readFile: files({
        '/etc/kube/config': KUBECONFIG.replace(
          '{ token: secret-token }',
          '{ exec: { command: aws, apiVersion: client.authentication.k8s.io/v1beta1 } }',
        ),
        '/etc/kube/pki/ca.crt': CA,
      }),
    });
    expect(onPath.exec).toEqual({
      command: 'aws',
      args: [],
      env: {},
      apiVersion: 'client.authentication.k8s.io/v1beta1',
    });
  });

  it('resolves a tokenFile against the kubeconfig directory', () => {
    const text = KUBECONFIG.replace('{ token: secret-token }', '{ tokenFile: secrets/token }');
    expect(
      loadKubeconfig('/etc/kube/config', {
        readFile: files({ '/etc/kube/config': text, '/etc/kube/pki/ca.crt': CA }),
      }).tokenFile,
    ).toBe('/etc/kube/secrets/token');
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
      'auth-provider credentials',
      {},
      KUBECONFIG.replace('{ token: secret-token }', '{ auth-provider: { name: gcp } }'),
      '"auth-provider" credentials are not supported',
    ],
    [
      'an exec plugin without a command',
      {},
      KUBECONFIG.replace(
        '{ token: secret-token }',
        '{ exec: { apiVersion: client.authentication.k8s.io/v1beta1 } }',
      ),
      'user "agent-sa": exec: "command" is missing',
    ],
    [
      'an exec plugin of an unknown apiVersion',
      {},
      KUBECONFIG.replace(
        '{ token: secret-token }',
        '{ exec: { command: aws, apiVersion: client.authentication.k8s.io/v1alpha1 } }',
      ),
      'exec: apiVersion "client.authentication.k8s.io/v1alpha1" is not supported; use one of client.authentication.k8s.io/v1, client.authentication.k8s.io/v1beta1',
    ],
    [
      'a v1 exec plugin without interactiveMode',
      {},
      KUBECONFIG.replace(
        '{ token: secret-token }',
        '{ exec: { command: aws, apiVersion: client.authentication.k8s.io/v1 } }',
      ),
      'exec: "interactiveMode" must be set for client.authentication.k8s.io/v1 (Never or IfAvailable)',
    ],
    [
      'an exec plugin that needs a terminal',
      {},
      KUBECONFIG.replace(
        '{ token: secret-token }',
        '{ exec: { command: kubelogin, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Always } }',
      ),
      'plugin "kubelogin" needs a terminal (interactiveMode: Always)',
    ],
    [
      'exec env entries without a value',
      {},
      KUBECONFIG.replace(
        '{ token: secret-token }',
        '{ exec: { command: aws, apiVersion: client.authentication.k8s.io/v1beta1, env: [{ name: A }] } }',
      ),
      'exec: env entry {"name":"A"} needs a string name and value',
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
