import { createConnection, createServer } from 'node:net';
import { readFile } from 'node:fs/promises';

/** True when something accepts a connection on the Unix socket at `path` right now. */
export function canConnectUnix(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Only for addresses that must be known
 * before a server starts (Raft cluster addresses); listeners that can bind port 0 do so instead
 * and report the port in their log (see {@link listeningPortsFromLog}).
 */
export function pickFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`unexpected server address ${String(address)}`));
      });
    });
  });
}

/**
 * Ports an OVS daemon bound for `p<proto>:0:<host>` remotes, in the order it bound them, from the
 * INFO lines `socket_util|INFO|0:127.0.0.1: listening on port 41234` of its log file. The line
 * does not say which remote it was for, so callers add such remotes one at a time.
 */
export async function listeningPortsInLog(logPath: string): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(logPath, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/: listening on port (\d+)$/gm)].map((match) => Number(match[1]));
}
