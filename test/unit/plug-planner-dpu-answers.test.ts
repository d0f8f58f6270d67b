/**
 * The planner's small additions for DPU datapaths (issue 9): providers learn the integration
 * bridge's datapath (PlugRequest.bridge), a failed not-now is `Failed` instead of `Pending`, and
 * warnings on a ready answer travel with their code, never blocking the port.
 */
import { describe, expect, it } from 'vitest';
import {
  planPorts,
  type PlugAnswer,
  type PlugProvider,
  type PlugRequest,
  type ProviderLookup,
} from '../../src/plug/index.js';
import { binding, emptyWorld, planInputOf } from './plug-test-world.js';

function providerAnswering(answer: PlugAnswer, seen: PlugRequest[] = []): ProviderLookup {
  const provider: PlugProvider = {
    type: 'fake',
    maintainedIfaceOptions: () => ['dpdk-devargs'],
    prepare: (request) => {
      seen.push(request);
      return answer;
    },
  };
  return (type) => (type === 'fake' ? { kind: 'available', provider } : undefined);
}

const CONFIG = { ownershipKey: 'ovn-plug-agent', canRemove: true } as const;
const PORT = binding('vm1', { 'vif-plug-type': 'fake' });

describe('planner: DPU answers', () => {
  it('hands the provider the integration bridge datapath_type and Open_vSwitch other_config', () => {
    const world = emptyWorld();
    const bridge = [...world.bridges.values()][0];
    if (bridge === undefined) throw new Error('no bridge');
    const netdev = { ...world, bridges: new Map([[bridge.uuid, { ...bridge, datapathType: 'netdev' }]]) };
    const seen: PlugRequest[] = [];
    planPorts({
      ...planInputOf(netdev, [PORT], {
        providers: providerAnswering({ kind: 'ready', name: 'pf0vf1', type: 'dpdk', options: {} }, seen),
        config: CONFIG,
      }),
      ovsOtherConfig: { 'doca-init': 'true' },
    });
    expect(seen[0]?.bridge).toEqual({
      name: 'br-int',
      datapathType: 'netdev',
      ovsOtherConfig: { 'doca-init': 'true' },
    });
    // A bridge row without the column (not monitored) reads as the kernel datapath.
    seen.length = 0;
    planPorts(
      planInputOf(emptyWorld(), [PORT], {
        providers: providerAnswering({ kind: 'notNow', reason: 'x' }, seen),
        config: CONFIG,
      }),
    );
    expect(seen[0]?.bridge).toEqual({ name: 'br-int', datapathType: '', ovsOtherConfig: {} });
  });

  it('a failed not-now blocks the port as Failed with its code and reason', () => {
    const plan = planPorts(
      planInputOf(emptyWorld(), [PORT], {
        providers: providerAnswering({
          kind: 'notNow',
          code: 'PortFunctionMismatch',
          reason: 'device says no',
          failed: true,
        }),
        config: CONFIG,
      }),
    );
    expect(plan.blocked).toEqual([
      expect.objectContaining({
        logicalPort: 'vm1',
        state: 'Failed',
        reason: 'PortFunctionMismatch',
        message: 'device says no',
      }),
    ]);
    expect(plan.create).toEqual([]);
  });

  it('warnings on a ready answer: the port is planned as usual and the warnings carry code and provider', () => {
    const plan = planPorts(
      planInputOf(emptyWorld(), [PORT], {
        providers: providerAnswering({
          kind: 'ready',
          name: 'pf0vf1',
          options: {},
          warnings: [{ code: 'PortFunctionUnsupported', message: 'cannot set roce' }],
        }),
        config: CONFIG,
      }),
    );
    expect(plan.create.map((c) => c.logicalPort)).toEqual(['vm1']);
    expect(plan.warnings).toEqual([
      { logicalPort: 'vm1', message: 'cannot set roce', code: 'PortFunctionUnsupported', plugType: 'fake' },
    ]);
  });

  it('malformed warnings from a plain-JavaScript provider are an invalid answer (Failed, ProviderError)', () => {
    const plan = planPorts(
      planInputOf(emptyWorld(), [PORT], {
        providers: providerAnswering({
          kind: 'ready',
          name: 'x',
          options: {},
          warnings: ['oops'],
        } as unknown as PlugAnswer),
        config: CONFIG,
      }),
    );
    expect(plan.blocked[0]).toMatchObject({ state: 'Failed', reason: 'ProviderError' });
    expect(plan.blocked[0]?.message).toContain('"warnings" is not a list of { code, message } strings');
  });
});
