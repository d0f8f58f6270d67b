/** `TransactionBuilder.handleAt`: an outcome's op index back to the handle, whatever the builder's op order. */
import { describe, expect, it } from 'vitest';
import { TransactionBuilder, where, type Row } from '../../src/ovsdb/index.js';
import { VSWITCH } from './fake-replica-world.js';

const BRIDGE = '00000000-0000-4000-8000-00000000b001';
const bridgeRow = { _uuid: BRIDGE, ports: [] } as unknown as Row;

describe('TransactionBuilder.handleAt', () => {
  it('maps each request index to the handle of its op across asserts, verifies (row and name) and writes', () => {
    const tx = new TransactionBuilder(VSWITCH);
    const iface = tx.insert('Interface', { name: 'a' });
    const port = tx.insert('Port', { name: 'a', interfaces: [iface] });
    tx.verify('Bridge', bridgeRow, ['ports']);
    tx.verifyNone('Port', [where('name', '==', 'a')]);
    const mutate = tx.mutate('Bridge', BRIDGE, []);
    const update = tx.update('Interface', [where('name', '==', 'a')], { type: 'internal' });
    tx.comment('after the writes');
    tx.assertLock('writer');
    const built = tx.build();
    expect(built.ops.map((op) => op['op'])).toEqual([
      'assert',
      'wait',
      'wait',
      'insert',
      'insert',
      'mutate',
      'update',
      'comment',
    ]);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => tx.handleAt(i))).toEqual([
      undefined,
      undefined,
      undefined,
      iface,
      port,
      mutate,
      update,
      undefined,
      undefined,
    ]);
    for (const handle of [iface, port, mutate, update])
      expect(tx.handleAt(built.indexOf(handle))).toBe(handle);
  });

  it('gives distinct handles to writes of the same table', () => {
    const tx = new TransactionBuilder(VSWITCH);
    const first = tx.delete('Port', [where('name', '==', 'a')]);
    const second = tx.delete('Port', [where('name', '==', 'b')]);
    expect(first).not.toBe(second);
    expect(tx.handleAt(1)).toBe(second);
  });
});
