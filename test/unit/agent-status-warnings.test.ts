/**
 * Provider warnings in the status model and the PortPlug status (issue 9): shown on a port that
 * otherwise works, a change of warnings alone is a status change, and they never change the state.
 */
import { describe, expect, it } from 'vitest';
import { derivePortState, PortStatusModel } from '../../src/agent/index.js';
import { portPlugStatus, statusPatch } from '../../src/agent/kube/port-plug-resource.js';

const IFACE = { name: 'pf0vf1', ofport: 5, ovnInstalled: true };
const WARNING =
  'PortFunctionUnsupported: VF 1 (devlink port pci/0000:03:00.0/196609): cannot set roce enable: Unknown option "roce"';

describe('status warnings', () => {
  it('a Bound port keeps Bound and carries its warnings', () => {
    const obs = derivePortState({
      logicalPort: 'vm1',
      provider: 'representor',
      phase: { kind: 'steady' },
      iface: IFACE,
      warnings: [WARNING],
    });
    expect(obs).toMatchObject({ state: 'Bound', reason: 'Bound', warnings: [WARNING] });
    const none = derivePortState({
      logicalPort: 'vm1',
      provider: 'representor',
      phase: { kind: 'steady' },
      iface: IFACE,
      warnings: [],
    });
    expect(none.warnings).toBeUndefined();
  });

  it('a warning appearing or going is a transition without a state change', () => {
    let now = 1_000;
    const model = new PortStatusModel({ now: () => now });
    const base = {
      logicalPort: 'vm1',
      provider: 'representor',
      state: 'Bound' as const,
      reason: 'Bound',
      message: 'm',
    };
    model.update([base]);
    now = 2_000;
    const withWarning = model.update([{ ...base, warnings: [WARNING] }]);
    expect(withWarning).toHaveLength(1);
    expect(withWarning[0]).toMatchObject({ from: 'Bound', to: 'Bound' });
    expect(model.get('vm1')).toMatchObject({ warnings: [WARNING], sinceMs: 1_000 });
    expect(model.update([{ ...base, warnings: [WARNING] }])).toEqual([]);
    expect(model.update([base])).toHaveLength(1);
    expect(model.get('vm1')?.warnings).toBeUndefined();
  });

  it('the PortPlug status carries them joined, and a merge patch removes them when they go', () => {
    const port = {
      logicalPort: 'vm1',
      state: 'Bound' as const,
      reason: 'Bound',
      message: 'm',
      provider: 'representor',
      firstSeenMs: 0,
      sinceMs: 0,
    };
    const warned = portPlugStatus({ ...port, warnings: [WARNING, 'PortFunctionUnsupported: second'] });
    expect(warned.warnings).toBe(`${WARNING}; PortFunctionUnsupported: second`);
    const clean = portPlugStatus(port);
    expect(clean.warnings).toBeUndefined();
    expect(statusPatch(warned, clean)).toEqual({ status: { warnings: null } });
  });
});
