// A loopback HTTP server that answers each path with whatever a test scripts (hostile bodies included),
// counts what it received, and really closes: listening socket and every open connection.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpOAuthError, type ErrorCode } from '../../../src/oauth/errors';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

export interface HostileServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: readonly ReceivedRequest[];
  /** Answers `path` (query ignored) with `handler`; unrouted paths get a JSON 404. */
  route(path: string, handler: Handler): void;
  /** Requests received for `path`. */
  count(path: string): number;
  /** Forgets every route and every recorded request. */
  reset(): void;
  close(): Promise<void>;
}

export async function startHostileServer(): Promise<HostileServer> {
  const routes = new Map<string, Handler>();
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path, body });
      const handler = routes.get(path);
      if (handler) handler(req, res, body);
      else json(404, { error: 'not_found' })(req, res, body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    route(path, handler) {
      routes.set(path, handler);
    },
    count(path) {
      return requests.filter((r) => r.path === path).length;
    },
    reset() {
      routes.clear();
      requests.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** A JSON answer (any value, so arrays and wrong types can be served). */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return raw(status, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
}

/** A verbatim answer. */
export function raw(status: number, body: string, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

/**
 * Asserts that `promise` rejects with an McpOAuthError (by `instanceof`) carrying exactly `code`, and that
 * the message contains none of `secrets`. Resolves with the error for further checks.
 */
export async function rejectsWithCode(
  promise: Promise<unknown>,
  code: ErrorCode,
  secrets: readonly string[] = [],
): Promise<McpOAuthError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a rejection with code ${code}, but it resolved`);
  assert.ok(
    caught instanceof McpOAuthError,
    `expected an McpOAuthError (${code}), got ${String((caught as Error)?.name)}: ${String((caught as Error)?.message)}`,
  );
  assert.equal(caught.code, code, `wrong code; message: ${caught.message}`);
  for (const secret of secrets) {
    assert.ok(!caught.message.includes(secret), `the message leaks a planted secret: ${caught.message}`);
  }
  return caught;
}
