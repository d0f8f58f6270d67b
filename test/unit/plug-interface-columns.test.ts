/**
 * Interface column rules (DESIGN §3.1, §3.2): plug type and MTU option parsing, maintained
 * options, external_ids merging.
 */
import { describe, expect, it } from 'vitest';
import {
  interfaceAfterUpdate,
  interfaceChanges,
  mergeMaintainedOptions,
  mtuRequestOf,
  plugTypeOf,
  unicastMacOf,
  type InterfaceIntent,
  type OvsInterface,
  type SbPortBinding,
} from '../../src/plug/index.js';

describe('plugTypeOf', () => {
  it.each([
    [{ 'vif-plug-type': 'dummy' }, 'dummy'],
    [{ 'plug-type': 'dummy' }, 'dummy'],
    [{ 'vif-plug-type': 'representor', 'plug-type': 'dummy' }, 'representor'],
    [{ 'vif-plug-type': '', 'plug-type': 'dummy' }, 'dummy'],
    [{ 'vif-plug-type': '' }, undefined],
    [{}, undefined],
    [{ constructor: 'x' }, undefined],
  ])('%j -> %j', (options: Record<string, string>, expected) => {
    expect(plugTypeOf(options)).toBe(expected);
  });
});

describe('mtuRequestOf', () => {
  it.each([
    [{ 'vif-plug-mtu-request': '420' }, { kind: 'set', value: 420 }],
    [{ 'vif-plug-mtu-request': ' 9000' }, { kind: 'set', value: 9000 }],
    [{ 'plug-mtu-request': '1400' }, { kind: 'set', value: 1400 }],
    [
      { 'vif-plug-mtu-request': '1500', 'plug-mtu-request': '1400' },
      { kind: 'set', value: 1500 },
    ],
    [{ 'vif-plug-mtu-request': '2147483647' }, { kind: 'set', value: 2147483647 }],
    [{}, { kind: 'clear' }],
    [{ 'vif-plug-mtu-request': '' }, { kind: 'clear' }],
  ])('%j -> %j', (options: Record<string, string>, expected) => {
    expect(mtuRequestOf(options)).toEqual(expected);
  });

  it.each(['abc', '-5', '0', '12abc', '1.5', '2147483648', '0x10'])(
    '%j clears the column and names key and value',
    (value) => {
      const result = mtuRequestOf({ 'vif-plug-mtu-request': value });
      expect(result).toMatchObject({ kind: 'clear', invalid: { key: 'vif-plug-mtu-request', value } });
      expect(result.kind === 'clear' ? result.invalid?.message : '').toContain(
        `vif-plug-mtu-request ${JSON.stringify(value)}`,
      );
    },
  );
});

describe('mergeMaintainedOptions', () => {
  it('sets and deletes maintained keys only; other keys, even returned ones, are left alone', () => {
    expect(
      mergeMaintainedOptions(
        { keep: '1', m1: 'old', m2: 'gone', extra: 'mine' },
        { m1: 'new', extra: 'theirs', m3: 'added' },
        ['m1', 'm2', 'm3'],
      ),
    ).toEqual({ keep: '1', m1: 'new', extra: 'mine', m3: 'added' });
  });

  it('handles hostile key names as plain keys', () => {
    const merged = mergeMaintainedOptions({}, Object.fromEntries([['__proto__', 'x']]), ['__proto__']);
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });
});

describe('interfaceChanges / interfaceAfterUpdate', () => {
  const existing: OvsInterface = {
    uuid: 'u1',
    name: 'lsp1',
    type: 'internal',
    options: { 'vif-plug-dummy-option': 'value', foo: 'bar' },
    externalIds: { 'iface-id': 'lsp1', 'ovn-plug-agent': 'dummy', 'ovn-installed': 'true' },
    mtuRequest: 420,
    ofport: 7,
  };
  const intent: InterfaceIntent = {
    logicalPort: 'lsp1',
    plugType: 'dummy',
    answer: { kind: 'ready', name: 'lsp1', type: 'internal', options: { 'vif-plug-dummy-option': 'value' } },
    mtu: { kind: 'set', value: 420 },
    ownershipKey: 'ovn-plug-agent',
  };

  it('an up-to-date interface has no changes', () => {
    expect(interfaceChanges(existing, intent, ['vif-plug-dummy-option'])).toBeUndefined();
  });

  it('a provider without type means a system interface: type "" is enforced', () => {
    const { type: _type, ...answer } = intent.answer;
    expect(interfaceChanges(existing, { ...intent, answer }, ['vif-plug-dummy-option'])).toMatchObject({
      type: '',
    });
  });

  it('the compatibility marker ovn-plugged is written when configured, ovn-plug-agent left as is', () => {
    const changes = interfaceChanges(existing, { ...intent, ownershipKey: 'ovn-plugged' }, []);
    expect(changes?.setExternalIds).toEqual({ 'ovn-plugged': 'dummy' });
    expect(
      interfaceAfterUpdate(existing, { ...intent, ownershipKey: 'ovn-plugged' }, []).externalIds,
    ).toEqual({
      'iface-id': 'lsp1',
      'ovn-plug-agent': 'dummy',
      'ovn-plugged': 'dummy',
      'ovn-installed': 'true',
    });
  });

  it('the desired columns after an update keep the name, foreign options and external_ids', () => {
    const desired = interfaceAfterUpdate(existing, { ...intent, mtu: { kind: 'clear' } }, [
      'vif-plug-dummy-option',
    ]);
    expect(desired).toEqual({
      name: 'lsp1',
      type: 'internal',
      options: { 'vif-plug-dummy-option': 'value', foo: 'bar' },
      externalIds: existing.externalIds,
    });
  });
});

describe('unicastMacOf (PlugRequest.mac)', () => {
  const withMac = (mac: string[] | undefined): SbPortBinding => ({
    uuid: 'pb',
    logicalPort: 'lsp1',
    type: '',
    options: {},
    requestedAdditionalChassis: [],
    ...(mac ? { mac } : {}),
  });
  it.each<[string[] | undefined, string | undefined]>([
    [['F0:00:00:00:00:01 10.0.0.1 fd00::1'], 'f0:00:00:00:00:01'],
    [['  f0:00:00:00:00:02'], 'f0:00:00:00:00:02'],
    [['01:00:5e:00:00:01 224.0.0.1'], undefined],
    [['unknown'], undefined],
    [['router'], undefined],
    [['dynamic'], undefined],
    [['f0:00:00:00:00:0 10.0.0.1'], undefined],
    [[], undefined],
    [undefined, undefined],
  ])('%j -> %j', (mac, expected) => {
    expect(unicastMacOf(withMac(mac))).toBe(expected);
  });
});
