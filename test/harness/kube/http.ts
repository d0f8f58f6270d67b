import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
  /** The body parsed as JSON; throws naming the status and body when it is not JSON. */
  json(): unknown;
}

export interface ApiRequestOptions {
  readonly method?: string;
  /** Bearer token; none sends an anonymous request. */
  readonly token?: string;
  /** PEM CA certificate that must have signed the server's certificate (https only). */
  readonly ca?: string | Buffer;
  /** Serialized as JSON unless already a string. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs?: number;
}

/**
 * One HTTP(S) request with a deadline. Any status is a result (tests assert on 403s); only
 * transport failures and timeouts reject.
 */
export function apiRequest(url: string, options: ApiRequestOptions = {}): Promise<ApiResponse> {
  const target = new URL(url);
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        resolve({
          status,
          body: text,
          json(): unknown {
            try {
              return JSON.parse(text) as unknown;
            } catch (error) {
              throw new Error(
                `${options.method ?? 'GET'} ${url} answered ${status} with non-JSON: ${text.slice(0, 500)}`,
                {
                  cause: error,
                },
              );
            }
          },
        });
      });
    };
    const common = { method: options.method ?? 'GET', headers, timeout: timeoutMs };
    const req =
      target.protocol === 'https:'
        ? httpsRequest(target, { ...common, ca: options.ca }, onResponse)
        : httpRequest(target, common, onResponse);
    req.on('timeout', () =>
      req.destroy(new Error(`${common.method} ${url}: no answer within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}
