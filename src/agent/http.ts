/**
 * The agent's HTTP endpoint on `--listen`: `/metrics` (Prometheus text), `/healthz` (liveness:
 * the agent makes progress on its pending work, ADR 0106), `/readyz` (both replicas synced and
 * answering), `/status` (the
 * {@link StatusAnswer} JSON: the snapshot plus when the agent answered) and `/providers`
 * (provider inventories).
 *
 * The server only reads snapshots through the injected callbacks; it never reaches into the
 * reconciler, so a slow scrape cannot delay a transaction.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenAddress } from './config.js';
import type { AgentStatus, ProviderInventoryReport, StatusAnswer } from './status/index.js';

export interface HealthReport {
  readonly ok: boolean;
  /** Why it is not ok, one sentence each. */
  readonly problems: readonly string[];
}

export interface HttpHandlers {
  readonly registry: Registry;
  status(): AgentStatus;
  health(): HealthReport;
  providers(): readonly ProviderInventoryReport[];
  /** Clock for `answeredAtMs` in `/status` (ms since epoch); default `Date.now`. */
  now?(): number;
}

export interface HttpServerHandle {
  /** `http://host:port` with the port actually bound (useful with port 0). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Readiness: both replicas completed their initial sync with the final monitor conditions, and
 * neither database has left the agent's `echo` unanswered (a stalled server, ADR 0106).
 */
export function readiness(status: AgentStatus): HealthReport {
  const problems: string[] = [];
  if (!status.sb.synced) problems.push(`Southbound DB not synced (state ${status.sb.state})`);
  else if (status.sb.unansweredSinceMs !== undefined)
    problems.push(`Southbound DB not answering since ${new Date(status.sb.unansweredSinceMs).toISOString()}`);
  if (!status.ovs.synced) problems.push(`OVS DB not synced (state ${status.ovs.state})`);
  else if (status.ovs.unansweredSinceMs !== undefined)
    problems.push(`OVS DB not answering since ${new Date(status.ovs.unansweredSinceMs).toISOString()}`);
  return { ok: problems.length === 0, problems };
}

/** Starts listening; rejects with the bind error (e.g. EADDRINUSE naming the address). */
export async function startHttpServer(
  listen: ListenAddress,
  handlers: HttpHandlers,
): Promise<HttpServerHandle> {
  const server = createServer((req, res) => {
    handle(req, res, handlers).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, 'text/plain', `internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`cannot listen on ${formatHostPort(listen)}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${formatHostPort({ host: listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host, port })}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function formatHostPort(listen: ListenAddress): string {
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

async function handle(req: IncomingMessage, res: ServerResponse, handlers: HttpHandlers): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', `method ${req.method ?? ''} not allowed\n`);
    return;
  }
  switch (path) {
    case '/metrics': {
      const body = await handlers.registry.metrics();
      send(res, 200, handlers.registry.contentType, body);
      return;
    }
    case '/healthz':
      sendReport(res, handlers.health());
      return;
    case '/readyz':
      sendReport(res, readiness(handlers.status()));
      return;
    case '/status': {
      const answer: StatusAnswer = { ...handlers.status(), answeredAtMs: handlers.now?.() ?? Date.now() };
      send(res, 200, 'application/json', JSON.stringify(answer, null, 2) + '\n');
      return;
    }
    case '/providers':
      send(res, 200, 'application/json', JSON.stringify(handlers.providers(), null, 2) + '\n');
      return;
    default:
      send(
        res,
        404,
        'text/plain',
        `not found: ${path ?? ''} (try /metrics, /healthz, /readyz, /status, /providers)\n`,
      );
  }
}

function sendReport(res: ServerResponse, report: HealthReport): void {
  send(res, report.ok ? 200 : 503, 'text/plain', report.ok ? 'ok\n' : report.problems.join('\n') + '\n');
}

function send(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
