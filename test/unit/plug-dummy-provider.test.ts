/**
 * The dummy provider behaves like OVN's (upstream-vif-plug.md §2.1, the registry unit test
 * "test-vif-plug"): name = logical port cut to 15 bytes, type internal, option
 * vif-plug-dummy-option=value, maintained set {vif-plug-dummy-option}, never refuses.
 */
import { describe, expect, it } from 'vitest';
import { ProviderRegistry } from '../../src/plug/index.js';
import { DummyProvider, dummyInterfaceName } from '../../src/providers/dummy/index.js';

describe('dummy provider', () => {
  it('replays upstream test-vif-plug: register, maintained set, prepare(create lsp1), destroy', async () => {
    const registry = new ProviderRegistry();
    await registry.register(new DummyProvider());
    const dummy = registry.provider('dummy');
    expect(dummy?.maintainedIfaceOptions()).toEqual(['vif-plug-dummy-option']);
    expect(dummy?.prepare({ operation: 'create', logicalPort: 'lsp1', options: {} })).toEqual({
      kind: 'ready',
      name: 'lsp1',
      type: 'internal',
      options: { 'vif-plug-dummy-option': 'value' },
    });
    await registry.destroyAll();
    expect(registry.list()).toEqual([]);
  });

  it('run() never reports a change', () => {
    expect(new DummyProvider().run()).toBe(false);
  });

  it('remove is always ready and names the existing interface', () => {
    const answer = new DummyProvider().prepare({
      operation: 'remove',
      logicalPort: 'a-very-long-logical-port-name',
      options: {},
      existing: { name: 'renamed-by-hand', type: 'internal', options: {} },
    });
    expect(answer).toMatchObject({ kind: 'ready', name: 'renamed-by-hand' });
  });

  it.each([
    ['lsp1', 'lsp1'],
    ['exactly-15-char', 'exactly-15-char'],
    ['a-very-long-logical-port-name', 'a-very-long-log'],
    // 14 ASCII bytes + "é" (2 bytes) would be 16: the character is dropped, not split.
    ['abcdefghijklmné', 'abcdefghijklmn'],
    ['ééééééééé', 'ééééééé'],
    ['😀😀😀😀', '😀😀😀'],
  ])('names %j as %j (at most 15 bytes of UTF-8, never a split character)', (logicalPort, name) => {
    expect(dummyInterfaceName(logicalPort)).toBe(name);
    expect(Buffer.byteLength(dummyInterfaceName(logicalPort))).toBeLessThanOrEqual(15);
  });
});
