import { describe, expect, it } from 'vitest';
import {
  parseCommandLine,
  parseDuration,
  resolveFromOpenVswitch,
  type Config,
} from '../../src/agent/config.js';

function ok(argv: string[], env: Record<string, string> = {}): Config {
  const result = parseCommandLine(argv, env);
  if (!result.ok) throw new Error(`unexpected errors: ${result.errors.join('; ')}`);
  return result.config;
}

function errorsOf(argv: string[], env: Record<string, string> = {}): readonly string[] {
  const result = parseCommandLine(argv, env);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

describe('parseCommandLine', () => {
  it('uses ovn-controller defaults when nothing is given', () => {
    const config = ok([]);
    expect(config.command).toBe('run');
    expect(config.ovsDb).toBe('unix:/var/run/openvswitch/db.sock');
    expect(config.ovnsbDb).toBeUndefined();
    expect(config.chassis).toBeUndefined();
    expect(config.providers).toEqual(['representor']);
    expect(config.ownershipMarker).toBe('ovn-plug-agent');
    expect(config.massRemovalGraceMs).toBe(60_000);
    // DESIGN §3.4 as written: any round removing more than the share is held, even 1 of 1.
    expect(config.massRemovalMinPorts).toBe(8);
    expect(config.massRemovalShare).toBe(0.5);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9476 });
    expect(config.logLevel).toBe('info');
  });

  it('accepts every DESIGN §3.6 flag in --flag=value and --flag value forms', () => {
    const config = ok([
      '--ovs-db=tcp:127.0.0.1:6640',
      '--ovnsb-db',
      'ssl:10.0.0.1:6642,ssl:[::1]:6642',
      '--chassis=hv1',
      '--providers=dummy,representor',
      '--provider-module=/a.mjs',
      '--provider-module',
      '/b.mjs',
      '--listen=[::1]:0',
      '-p',
      'key.pem',
      '-ccert.pem',
      '-C',
      'ca.pem',
      '--log-level=debug',
      '--kubeconfig=/kc',
      '--node-name=dpu-1',
      '--ownership-marker=ovn-plugged',
      '--mass-removal-share=25%',
      '--mass-removal-grace=2m',
      '--mass-removal-min-ports=2',
      '--devlink-command=/bin/fake-devlink',
    ]);
    expect(config.ovnsbDb).toEqual(['ssl:10.0.0.1:6642', 'ssl:[::1]:6642']);
    expect(config.providers).toEqual(['dummy', 'representor']);
    expect(config.providerModules).toEqual(['/a.mjs', '/b.mjs']);
    expect(config.listen).toEqual({ host: '::1', port: 0 });
    expect(config.tls).toEqual({ privateKey: 'key.pem', certificate: 'cert.pem', caCert: 'ca.pem' });
    expect(config.ownershipMarker).toBe('ovn-plugged');
    expect(config.massRemovalShare).toBe(0.25);
    expect(config.massRemovalGraceMs).toBe(120_000);
    expect(config.massRemovalMinPorts).toBe(2);
    expect(config.devlinkCommand).toBe('/bin/fake-devlink');
    expect(config.nodeName).toBe('dpu-1');
  });

  it('reads OVN_PLUG_AGENT_* environment twins, and flags win over them', () => {
    const config = ok(['--chassis=from-flag'], {
      OVN_PLUG_AGENT_CHASSIS: 'from-env',
      OVN_PLUG_AGENT_OVNSB_DB: 'tcp:127.0.0.1:6642',
      OVN_PLUG_AGENT_PROVIDER_MODULE: '/x.mjs,/y.mjs',
      OVN_PLUG_AGENT_LISTEN: 'off',
    });
    expect(config.chassis).toBe('from-flag');
    expect(config.ovnsbDb).toEqual(['tcp:127.0.0.1:6642']);
    expect(config.providerModules).toEqual(['/x.mjs', '/y.mjs']);
    expect(config.listen).toBeUndefined();
  });

  it('reports all invalid values at once, each naming the flag and quoting the value', () => {
    const errors = errorsOf(
      [
        '--ovs-db=foo:/x',
        '--ovnsb-db=tcp:host:99999',
        '--providers=dummy,sriov',
        '--listen=localhost',
        '--log-level=loud',
        '--ownership-marker=mine',
        '--mass-removal-share=2',
        '--mass-removal-grace=soon',
        '--bogus',
      ],
      { OVN_PLUG_AGENT_NODE_NAME: 'Not_Valid' },
    );
    const joined = errors.join('\n');
    expect(errors).toHaveLength(10);
    expect(joined).toContain('--ovs-db: unknown connection method "foo" in "foo:/x"');
    expect(joined).toContain('--ovnsb-db: port 99999 out of range in "tcp:host:99999"');
    expect(joined).toContain('--providers: unknown built-in provider "sriov"');
    expect(joined).toContain('--listen: "localhost" is not HOST:PORT');
    expect(joined).toContain('--log-level: unknown log level "loud"');
    expect(joined).toContain('--ownership-marker: "mine"');
    expect(joined).toContain('--mass-removal-share: "2"');
    expect(joined).toContain('--mass-removal-grace: "soon"');
    expect(joined).toContain('unknown option "--bogus"');
    expect(joined).toContain('OVN_PLUG_AGENT_NODE_NAME: "Not_Valid"');
  });

  it('requires the TLS trio for ssl: remotes and together', () => {
    expect(errorsOf(['--ovnsb-db=ssl:127.0.0.1:6642']).join()).toContain('needs -p/--private-key');
    expect(errorsOf(['-p', 'k.pem']).join()).toContain('missing: -c, -C');
  });

  it('parses subcommands and --help', () => {
    expect(ok(['status', '--listen=127.0.0.1:1234', '--json']).command).toBe('status');
    expect(ok(['providers']).command).toBe('providers');
    expect(ok(['--help']).command).toBe('help');
    expect(errorsOf(['frobnicate']).join()).toContain('unexpected argument "frobnicate"');
    expect(errorsOf(['--chassis=a', '--chassis=b']).join()).toContain('given more than once ("a" and "b")');
  });
});

describe('resolveFromOpenVswitch', () => {
  it('takes SB remote, chassis and bridge from Open_vSwitch external_ids like ovn-controller', () => {
    const result = resolveFromOpenVswitch(
      ok([]),
      new Map([
        ['ovn-remote', 'tcp:127.0.0.1:6642'],
        ['system-id', 'hv1'],
        ['ovn-bridge', 'br-x'],
      ]),
    );
    expect(result).toMatchObject({
      ok: true,
      config: { ovnsbDb: ['tcp:127.0.0.1:6642'], chassis: 'hv1', integrationBridge: 'br-x' },
    });
  });

  it('defaults the bridge to br-int and lets flags win', () => {
    const result = resolveFromOpenVswitch(
      ok(['--chassis=mine', '--ovnsb-db=unix:/sb.sock']),
      new Map([['system-id', 'hv1']]),
    );
    expect(result).toMatchObject({
      ok: true,
      config: { ovnsbDb: ['unix:/sb.sock'], chassis: 'mine', integrationBridge: 'br-int' },
    });
  });

  it('names every missing or malformed external_ids value', () => {
    const result = resolveFromOpenVswitch(ok([]), new Map([['ovn-remote', 'bogus']]));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      'Open_vSwitch external_ids:ovn-remote: expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT in "bogus"',
      'no --chassis given and Open_vSwitch external_ids:system-id is not set',
    ]);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['60', 60_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['x', undefined],
    ['-1s', undefined],
  ])('%s -> %s', (raw, ms) => {
    expect(parseDuration(raw)).toBe(ms);
  });
});

describe('remove-kube-status command', () => {
  it('needs --all-nodes or --node-name', () => {
    expect(errorsOf(['remove-kube-status'])).toEqual([
      'remove-kube-status needs --all-nodes or --node-name=NAME',
    ]);
    expect(ok(['remove-kube-status', '--all-nodes'])).toMatchObject({
      command: 'remove-kube-status',
      allNodes: true,
    });
    expect(ok(['remove-kube-status', '--node-name=dpu-1'])).toMatchObject({
      command: 'remove-kube-status',
      allNodes: false,
      nodeName: 'dpu-1',
    });
  });
});
