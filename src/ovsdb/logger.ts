/**
 * The logging surface src/ovsdb needs: a subset of pino's `Logger`, so a pino logger (or a child)
 * can be passed as is. `noopLogger` is the default.
 */
export interface OvsdbLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;

export const noopLogger: OvsdbLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
