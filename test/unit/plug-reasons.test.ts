/** The reason vocabulary: which reasons count as a provider's (ovn_plug_provider_errors_total). */
import { describe, expect, it } from 'vitest';
import { isProviderReason } from '../../src/plug/index.js';

describe('isProviderReason', () => {
  it("is false for the agent's own reasons, the planner's and the status model's", () => {
    for (const reason of [
      'AwaitingSync',
      'ForeignInterface',
      'Queued',
      'TransactionFailed',
      'RemovalHeld',
      'Bound',
    ])
      expect(isProviderReason(reason)).toBe(false);
  });

  it("is true for the agent's words about a provider and for a provider's own not-now code", () => {
    for (const reason of [
      'ProviderNotFound',
      'ProviderUnavailable',
      'ProviderError',
      'ProviderNotReady',
      'VfNotFound',
    ])
      expect(isProviderReason(reason)).toBe(true);
  });

  it('is not fooled by inherited property names', () => {
    expect(isProviderReason('toString')).toBe(true);
  });
});
