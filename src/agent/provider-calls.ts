/**
 * The reconciler's calls into providers. Their periodic `run()` (through the registry, which
 * isolates a failing or hanging provider), and the end of their ready answers (DESIGN §3.3, ADR
 * 0089): `finish` only once the transaction that applied the answer committed, `release` exactly
 * once for every answer, after `finish` or instead of it. A provider that throws is logged; it
 * never stops the others' answers from ending.
 */
import type { Logger, PreparedPlug } from '../plug/index.js';
import type { RateLimitedLog } from './logger.js';
import type { AgentMetrics } from './metrics.js';
import type { UnsureTxn, WorkItem } from './ovs-writer.js';
import type { ProviderSource } from './reconciler-options.js';

/** Runs every provider's `run()` once; true when one reports a change (a replan is due). */
export async function runProviders(
  providers: ProviderSource,
  o: { readonly logger: Logger; readonly rateLimited: RateLimitedLog; readonly metrics?: AgentMetrics },
): Promise<boolean> {
  const result = await providers.runAll().catch((error: unknown) => {
    o.logger.error({ err: error }, 'provider run round failed');
  });
  if (result === undefined) return false;
  for (const { type, message } of result.failed) {
    o.metrics?.providerError(type, 'RunFailed');
    o.rateLimited.log('warn', `run:${type}`, { provider: type, error: message }, 'provider run() failed');
  }
  return result.changed.length > 0;
}

/** The ready answers that `work` carries. */
export function answersOf(work: readonly WorkItem[]): PreparedPlug[] {
  return work.flatMap((w) => w.prepared);
}

export function finishAnswers(answers: Iterable<PreparedPlug>, logger: Logger): void {
  for (const prepared of answers) call('finish', prepared, logger);
}

export function releaseAnswers(answers: Iterable<PreparedPlug>, logger: Logger): void {
  for (const prepared of answers) call('release', prepared, logger);
}

function call(
  method: 'finish' | 'release',
  { provider, request, answer }: PreparedPlug,
  logger: Logger,
): void {
  try {
    if (method === 'finish') provider.finish?.(request, answer);
    else provider.release?.(request, answer);
  } catch (error) {
    logger.warn(
      { provider: provider.type, logicalPort: request.logicalPort, err: error },
      `provider ${method}() threw`,
    );
  }
}

/**
 * The answers of a transaction whose outcome was `unknown`: neither finished nor released until
 * the replica tells whether it committed.
 */
export class UnsureAnswers {
  #pending: UnsureTxn | undefined;

  constructor(private readonly logger: Logger) {}

  hold(txn: UnsureTxn): void {
    this.#pending = txn;
  }

  /** Ends the held answers, if any: `finish` each when `committed` says so, then `release` each. */
  settle(committed: (txn: UnsureTxn) => boolean): void {
    const txn = this.#pending;
    if (txn === undefined) return;
    this.#pending = undefined;
    const yes = committed(txn);
    this.logger.info(
      { committed: yes, answers: txn.prepared.length },
      yes
        ? 'the replica shows the transaction with an unknown outcome committed'
        : 'the replica does not show the transaction with an unknown outcome',
    );
    if (yes) finishAnswers(txn.prepared, this.logger);
    releaseAnswers(txn.prepared, this.logger);
  }
}
