import { describe, expect, it } from 'vitest';
import { RateLimitedLog, type Logger } from '../../src/agent/index.js';

function recorder(): { logger: Logger; lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { logger, lines };
}

describe('RateLimitedLog', () => {
  it('logs a key once per interval and reports how many repeats it dropped', () => {
    let now = 0;
    const { logger, lines } = recorder();
    const log = new RateLimitedLog(logger, () => now, 60_000);
    log.log('warn', 'conflict:lsp3', { logicalPort: 'lsp3' }, 'port conflict');
    now = 1_000;
    log.log('warn', 'conflict:lsp3', { logicalPort: 'lsp3' }, 'port conflict');
    log.log('warn', 'conflict:lsp4', { logicalPort: 'lsp4' }, 'port conflict');
    now = 61_000;
    log.log('warn', 'conflict:lsp3', { logicalPort: 'lsp3' }, 'port conflict');
    expect(lines).toEqual([
      { level: 'warn', obj: { logicalPort: 'lsp3' }, msg: 'port conflict' },
      { level: 'warn', obj: { logicalPort: 'lsp4' }, msg: 'port conflict' },
      { level: 'warn', obj: { logicalPort: 'lsp3', suppressed: 1 }, msg: 'port conflict' },
    ]);
  });

  it('logs again at once after reset', () => {
    const { logger, lines } = recorder();
    const log = new RateLimitedLog(logger, () => 0);
    log.log('info', 'k', {}, 'a');
    log.reset('k');
    log.log('info', 'k', {}, 'a');
    expect(lines).toHaveLength(2);
  });
});

describe('RateLimitedLog under port churn', () => {
  it('forgets quiet keys so that unique keys cannot grow it without bound', () => {
    let now = 0;
    const { logger, lines } = recorder();
    const log = new RateLimitedLog(logger, () => now, 1_000);
    for (let i = 0; i < 30_000; i++) {
      now += 1;
      log.log('warn', `failed:port${i}`, {}, 'port failed');
    }
    expect(lines).toHaveLength(30_000);
    expect(log.trackedKeys).toBeLessThanOrEqual(10_000);
    // A key seen long ago logs again at once; a recent one is still limited.
    log.log('warn', 'failed:port0', {}, 'port failed');
    log.log('warn', 'failed:port29999', {}, 'port failed');
    expect(lines).toHaveLength(30_001);
  });
});
