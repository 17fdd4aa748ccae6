import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CancelledError, HttpRequestError, McpOAuthError } from '../errors';

/**
 * The loopback redirect receiver of the authorization-code flow (RFC 8252 §7.3): a tiny HTTP server on
 * 127.0.0.1 that waits for the browser to come back with `code` and `state`.
 *
 * Only a request whose `state` matches a waiter ends that waiter; anything else gets an error page and
 * changes nothing, so a page that guesses the port cannot end or spoil the flow. The callback URL is handed
 * over whole and unvalidated apart from `state`; the caller checks `iss`, `error` and `code`.
 */
export interface LoopbackReceiverOptions {
  /** 0 (the default) for an ephemeral port; a fixed port when the client was registered with one. */
  readonly port?: number;
  /** The redirect path. Default `/callback`. */
  readonly path?: string;
  /** Served when the matching callback carries no `error`. */
  readonly successHtml: string;
  /** Served when the matching callback carries `error`. Fixed text: nothing from the request is shown. */
  readonly errorHtml?: string;
}

export interface WaitForCallbackOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
}

export interface LoopbackReceiver {
  /** `http://127.0.0.1:PORT/callback`: the `redirect_uri` to register and send. */
  readonly redirectUri: string;
  /**
   * Resolves with the full callback URL once a GET on the path carries exactly this `state`. Registers the
   * waiter synchronously, so call it before opening the browser. Rejects with `callback_timeout` after
   * `timeoutMs`, with `CancelledError` when `signal` aborts or the receiver closes.
   */
  waitForCallback(state: string, options: WaitForCallbackOptions): Promise<URL>;
  /** Stops listening and ends every open connection. Pending waiters reject with `CancelledError`. */
  close(): Promise<void>;
}

interface Waiter {
  resolve(url: URL): void;
  reject(error: Error): void;
}

const HOST = '127.0.0.1';

const DEFAULT_ERROR_HTML = page('Sign-in failed', 'Sign-in failed — return to your editor for details.');
const UNEXPECTED_HTML = page(
  'Unexpected sign-in response',
  'This sign-in response was not expected here. Return to your editor and start signing in again.',
);
const NOT_FOUND_HTML = page('Not found', 'There is nothing here.');

export async function startLoopbackReceiver(options: LoopbackReceiverOptions): Promise<LoopbackReceiver> {
  const port = options.port ?? 0;
  const callbackPath = options.path ?? '/callback';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new McpOAuthError('invalid_config', `The loopback port must be an integer from 0 to 65535, not ${port}.`);
  }
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(callbackPath)) {
    throw new McpOAuthError('invalid_config', 'The loopback callback path must start with "/" and hold no query.');
  }
  const successHtml = options.successHtml;
  const errorHtml = options.errorHtml ?? DEFAULT_ERROR_HTML;

  const waiters = new Map<string, Waiter>();
  const sockets = new Set<Socket>();
  let redirectUri = '';
  let closing: Promise<void> | undefined;

  const server = http.createServer((request, response) => {
    const target = request.url ?? '';
    const queryStart = target.indexOf('?');
    const requestPath = queryStart === -1 ? target : target.slice(0, queryStart);
    if (requestPath !== callbackPath) return send(response, 404, NOT_FOUND_HTML);
    if (request.method !== 'GET') return send(response, 405, NOT_FOUND_HTML, { Allow: 'GET' });

    const query = queryStart === -1 ? '' : target.slice(queryStart);
    const params = new URLSearchParams(query);
    const states = params.getAll('state');
    const state = states.length === 1 ? states[0] : undefined;
    const waiter = state === undefined ? undefined : waiters.get(state);
    if (state === undefined || !waiter) return send(response, 400, UNEXPECTED_HTML);

    waiters.delete(state);
    send(response, 200, params.has('error') ? errorHtml : successHtml);
    waiter.resolve(new URL(query, redirectUri));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await listen(server, port);
  redirectUri = `http://${HOST}:${(server.address() as AddressInfo).port}${callbackPath}`;

  async function waitForCallback(state: string, { signal, timeoutMs }: WaitForCallbackOptions): Promise<URL> {
    if (closing) throw new CancelledError('The sign-in callback receiver is closed.');
    if (state === '') throw new McpOAuthError('invalid_config', 'The callback state must not be empty.');
    if (waiters.has(state)) throw new McpOAuthError('invalid_config', 'A callback with this state is already awaited.');
    if (!(timeoutMs > 0))
      throw new McpOAuthError('invalid_config', 'The callback timeout must be a positive number of milliseconds.');
    if (signal?.aborted) throw new CancelledError();

    let waiter: Waiter | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<URL>((resolve, reject) => {
        waiter = { resolve, reject };
        waiters.set(state, waiter);
        // setTimeout fires at once beyond 2^31 - 1 ms, so longer waits are capped at about 24 days.
        timer = setTimeout(() => reject(timeoutError(redirectUri, timeoutMs)), Math.min(timeoutMs, 2 ** 31 - 1));
        if (signal) {
          onAbort = () => reject(new CancelledError());
          signal.addEventListener('abort', onAbort, { once: true });
        }
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (waiters.get(state) === waiter) waiters.delete(state);
    }
  }

  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      for (const waiter of waiters.values())
        waiter.reject(new CancelledError('The sign-in callback receiver was closed.'));
      waiters.clear();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  }

  return {
    get redirectUri() {
      return redirectUri;
    },
    waitForCallback,
    close,
  };
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(listenError(error, port));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: HOST, port, exclusive: true });
  });
}

function listenError(error: NodeJS.ErrnoException, port: number): McpOAuthError {
  if (error.code === 'EADDRINUSE') {
    return new McpOAuthError(
      'port_in_use',
      `Port ${port} on ${HOST} is already in use, so the sign-in response cannot be received there. ` +
        'Stop the program that uses it, or configure another redirect port.',
      { cause: error },
    );
  }
  return new HttpRequestError(
    'network_error',
    `Could not listen on ${HOST}:${port} for the sign-in response (${error.code ?? 'unknown error'}).`,
    { cause: error },
  );
}

function timeoutError(redirectUri: string, timeoutMs: number): McpOAuthError {
  const seconds = Math.round(timeoutMs / 1000);
  return new McpOAuthError(
    'callback_timeout',
    `No sign-in response reached ${redirectUri} within ${seconds} s. Sign in again and finish in the browser; ` +
      'if no browser opened, open the printed link yourself.',
  );
}

function send(response: http.ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    Connection: 'close',
    ...headers,
  });
  response.end(html);
}

/** A bare page with fixed text, for the answers that are not the caller's success or error page. */
function page(title: string, message: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<style>body{font:16px/1.5 system-ui,sans-serif;margin:4rem auto;max-width:32rem;padding:0 1rem}</style>' +
    `</head><body><p>${message}</p></body></html>`
  );
}
