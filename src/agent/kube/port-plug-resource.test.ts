import { describe, expect, it } from 'vitest';
import { nodeLabelValue, portPlugName, statusPatch } from './port-plug-resource.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('portPlugName', () => {
  it('is <node>.<port> when the port name is already a valid name part', () => {
    expect(portPlugName('dpu-1', 'a9c1e7d2-0b1c-4c6e-9f00-1234567890ab')).toBe(
      'dpu-1.a9c1e7d2-0b1c-4c6e-9f00-1234567890ab',
    );
  });

  it.each(['LP1', 'lp_1', 'lp:1', '-lp-', 'p..q', '___', 'x'.repeat(300)])(
    'makes a valid, distinct name for %j',
    (logicalPort) => {
      const name = portPlugName('dpu-1', logicalPort);
      expect(name).toMatch(SUBDOMAIN);
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name.startsWith('dpu-1.')).toBe(true);
    },
  );

  it('never maps two different ports to one name', () => {
    const ports = ['LP1', 'lp1', 'lp_1', 'lp-1', 'lp:1', 'lp.1'];
    const names = new Set(ports.map((p) => portPlugName('n', p)));
    expect(names.size).toBe(ports.length);
  });

  it('rejects an empty port name', () => {
    expect(() => portPlugName('n', '')).toThrow('the logical port name is empty');
  });
});

describe('nodeLabelValue', () => {
  it('uses the node name when it is a valid label value and a stable hash otherwise', () => {
    expect(nodeLabelValue('dpu-1.example.com')).toBe('dpu-1.example.com');
    const long = `${'a'.repeat(70)}.example.com`;
    expect(nodeLabelValue(long)).toMatch(/^h-[0-9a-f]{10}$/);
    expect(nodeLabelValue(long)).toBe(nodeLabelValue(long));
  });
});

describe('statusPatch', () => {
  it('sets changed keys and nulls vanished optional ones', () => {
    const before = {
      state: 'Bound' as const,
      reason: 'Installed',
      message: 'm',
      provider: 'dummy',
      interfaceName: 'lp1',
      ofport: 3,
      firstSeenTime: 't0',
      lastTransitionTime: 't1',
    };
    const after = {
      ...before,
      state: 'Failed' as const,
      reason: 'InterfaceError',
      ofport: undefined,
      lastTransitionTime: 't2',
    };
    expect(statusPatch(before, after)).toEqual({
      status: { state: 'Failed', reason: 'InterfaceError', ofport: null, lastTransitionTime: 't2' },
    });
  });
});
