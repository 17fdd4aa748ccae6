import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';

/** JSON-RPC error code of the gateway's "sign-in required" answers (in the implementation-defined server range). */
export const SIGN_IN_REQUIRED = -32001;

/** A plain-text answer. Once a relayed response has started, the stream can only be cut. */
export function replyText(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(`${message}\n`, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/**
 * Tells the client that the request needs a sign-in (or more permission), without a 401 or 403, which
 * would start VS Code's own sign-in: JSON-RPC requests in a POST get HTTP 200 with an error for each of
 * them, so the message reaches the user; anything else (a GET stream, a DELETE, notifications) gets a 503.
 */
export function replyAuthRequired(
  res: ServerResponse,
  method: string,
  body: Buffer | undefined,
  message: string,
): void {
  const requests = method === 'POST' && body ? jsonRpcRequests(body) : undefined;
  if (!requests || requests.ids.length === 0 || res.headersSent) {
    replyText(res, 503, message);
    return;
  }
  const errors = requests.ids.map((id) => ({ jsonrpc: '2.0', id, error: { code: SIGN_IN_REQUIRED, message } }));
  const json = Buffer.from(JSON.stringify(requests.batch ? errors : errors[0]), 'utf8');
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': json.length,
    'cache-control': 'no-store',
  });
  res.end(json);
}

/** The ids of the JSON-RPC requests (not notifications or responses) in a message or a batch. */
function jsonRpcRequests(body: Buffer): { ids: (string | number)[]; batch: boolean } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const batch = Array.isArray(parsed);
  const ids: (string | number)[] = [];
  for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
    if (typeof message !== 'object' || message === null || typeof (message as { method?: unknown }).method !== 'string')
      continue;
    const id = (message as { id?: unknown }).id;
    if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) ids.push(id);
  }
  return { ids, batch };
}
