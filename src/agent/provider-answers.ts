/**
 * Ending providers' ready answers (DESIGN §3.3, ADR 0089): `finish` only once the transaction that
 * applied the answer committed, `release` exactly once for every answer, after `finish` or instead
 * of it. A provider that throws is logged; it never stops the others' answers from ending.
 */
import type { Logger, PreparedPlug } from '../plug/index.js';

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
