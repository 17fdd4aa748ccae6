import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CancelledError, HttpRequestError, InvalidResponseError, McpOAuthError } from '../errors';
import { randomToken, type RandomBytes } from '../http/random';
import { callbackPage, noticePage } from './callbackPage';
import { CallbackWaiters } from './callbackWaiters';
import type { RedirectReceiver } from './host';

/**
 * The loopback redirect receiver of the authorization-code flow (RFC 8252 §7.3): a tiny HTTP server on
 * 127.0.0.1 that waits for the browser to come back with `code` and `state`.
 *
 * - The browser is sent to a one-time start URL first (`/start/<nonce>`), which sets a cookie and redirects
 *   to the authorization server; the callback must carry that cookie. The authorization URL (with `state`)
 *   so never appears on a command line another local user can read, and a start URL opened twice (by the
 *   user's browser and by someone who read it) ends the sign-in instead of letting either complete it.
 * - Only a GET on the redirect path whose `state` matches a waiter ends that waiter; anything else gets a
 *   fixed page and changes nothing, so a page that guesses the port cannot end or spoil the flow.
 * - Where the host can tell which local user opened a connection ({@link PeerCheck}), a start URL or callback
 *   opened by another user ends the sign-in: such a user may race the browser to the start URL.
 * - The browser's page is held until the client has validated the response and redeemed the code
 *   ({@link RedirectReceiver.settle}): it says "signed in" only when that is true.
 */
export interface LoopbackReceiverOptions {
  /** 0 (the default) for an ephemeral port; a fixed port when the client was registered with one. */
  readonly port?: number;
  /** The redirect path. Default `/callback`. */
  readonly path?: string;
  /** Where the page sends the user back to: "VS Code", "your terminal". */
  readonly returnTo: string;
  readonly random: RandomBytes;
  /** How long the browser's page waits for the outcome before saying "return to …". Default 60 s. */
  readonly settleTimeoutMs?: number;
  /** Who opened a connection, where the platform tells (the hosts pass `sameUserPeers()`). */
  readonly peerCheck?: PeerCheck;
}

/**
 * Tells whether the connection from 127.0.0.1:`remotePort` to our `localPort` was opened by this process's
 * own user (`same`, also when the system cannot tell) or by another.
 */
export type PeerCheck = (peer: {
  readonly remotePort: number;
  readonly localPort: number;
}) => Promise<'same' | { readonly otherUser: number }>;

const HOST = '127.0.0.1';
const COOKIE = 'mcp-oauth-signin';
const START_PREFIX = '/start/';

interface Start {
  readonly state: string;
  readonly authorizationUrl: string;
  readonly cookie: string;
  used: boolean;
}

export interface LoopbackReceiver extends RedirectReceiver {
  readonly kind: 'loopback';
  /** The port listened on. */
  readonly port: number;
}

export async function startLoopbackReceiver(options: LoopbackReceiverOptions): Promise<LoopbackReceiver> {
  const port = options.port ?? 0;
  const callbackPath = options.path ?? '/callback';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new McpOAuthError('invalid_config', `The loopback port must be an integer from 0 to 65535, not ${port}.`);
  }
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(callbackPath) || callbackPath.startsWith(START_PREFIX)) {
    throw new McpOAuthError('invalid_config', 'The loopback callback path must start with "/" and hold no query.');
  }
  const settleTimeoutMs = options.settleTimeoutMs ?? 60_000;
  const waiters = new CallbackWaiters();
  /** Start URLs by nonce, and by the state they are for. */
  const starts = new Map<string, Start>();
  const cookies = new Map<string, string>();
  /** Browser pages held until the sign-in they belong to is settled. */
  const pages = new Map<string, { response: http.ServerResponse; timer: ReturnType<typeof setTimeout> }>();
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;

  const server = http.createServer((request, response) => {
    answer(request, response).catch(() => send(response, 500, NOT_FOUND));
  });

  async function answer(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const target = request.url ?? '';
    const queryStart = target.indexOf('?');
    const requestPath = queryStart === -1 ? target : target.slice(0, queryStart);
    if (request.method !== 'GET') return send(response, 405, NOT_FOUND, { Allow: 'GET' });
    const isStart = requestPath.startsWith(START_PREFIX);
    if (!isStart && requestPath !== '/callback' && !requestPath.startsWith('/callback/'))
      return send(response, 404, NOT_FOUND);
    const query = queryStart === -1 ? '' : target.slice(queryStart);
    const callback = new URL(`${requestPath}${query}`, origin());
    const states = callback.searchParams.getAll('state');
    const nonce = isStart ? requestPath.slice(START_PREFIX.length) : undefined;
    const state = nonce !== undefined ? starts.get(nonce)?.state : states.length === 1 ? states[0]! : undefined;
    const peer = options.peerCheck
      ? await options.peerCheck({ remotePort: request.socket.remotePort ?? 0, localPort: boundPort })
      : 'same';
    if (peer !== 'same') {
      // Another local user: whatever they opened, the sign-in it belongs to cannot be trusted any more.
      if (nonce !== undefined && starts.get(nonce)) starts.get(nonce)!.used = true;
      if (state !== undefined) {
        cookies.delete(state);
        waiters.fail(state, otherUser(peer.otherUser));
      }
      return send(response, 403, noticePage('Sign-in refused', OTHER_USER));
    }
    if (nonce !== undefined) return openStart(nonce, response);
    const expectedCookie = state === undefined ? undefined : cookies.get(state);
    if (state !== undefined && expectedCookie !== undefined && cookieOf(request) !== expectedCookie) {
      // The right state without the browser that started the sign-in: someone else has the state.
      cookies.delete(state);
      waiters.fail(state, notThisBrowser());
      return send(response, 400, noticePage('Sign-in refused', NOT_THIS_BROWSER));
    }
    const delivered = waiters.deliver(callback);
    if (delivered !== 'delivered') return send(response, 400, UNEXPECTED);
    cookies.delete(state!);
    holdPage(state!, response);
  }
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await listen(server, port);
  const boundPort = (server.address() as AddressInfo).port;
  const origin = () => `http://${HOST}:${boundPort}`;
  const redirectUri = `${origin()}${callbackPath}`;

  function openStart(nonce: string, response: http.ServerResponse): void {
    const start = starts.get(nonce);
    if (!start) return send(response, 404, NOT_FOUND);
    if (start.used) {
      // Opened a second time: by the user's browser after someone who read the link, or the other way round.
      cookies.delete(start.state);
      waiters.fail(start.state, openedTwice());
      return send(response, 400, noticePage('Sign-in refused', OPENED_TWICE));
    }
    start.used = true;
    response.writeHead(302, {
      Location: start.authorizationUrl,
      'Set-Cookie': `${COOKIE}=${start.cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=900`,
      ...SECURITY_HEADERS,
      Connection: 'close',
    });
    response.end();
  }

  function holdPage(state: string, response: http.ServerResponse): void {
    const timer = setTimeout(
      () => settle(state, { ok: false, message: 'The sign-in is still being completed.' }),
      settleTimeoutMs,
    );
    pages.set(state, { response, timer });
    response.once('close', () => {
      clearTimeout(timer);
      if (pages.get(state)?.response === response) pages.delete(state);
    });
  }

  function settle(state: string, outcome: { ok: true } | { ok: false; message: string }): void {
    const held = pages.get(state);
    if (!held) return;
    pages.delete(state);
    clearTimeout(held.timer);
    const page = outcome.ok
      ? callbackPage('success', { returnTo: options.returnTo })
      : callbackPage('error', { returnTo: options.returnTo, detail: outcome.message });
    send(held.response, outcome.ok ? 200 : 400, page);
  }

  return {
    kind: 'loopback',
    redirectUri,
    port: boundPort,
    async browserUrl(authorizationUrl, state) {
      const nonce = randomToken(options.random);
      starts.set(nonce, { state, authorizationUrl, cookie: randomToken(options.random), used: false });
      cookies.set(state, starts.get(nonce)!.cookie);
      return `${origin()}${START_PREFIX}${nonce}`;
    },
    wait(state, { timeoutMs, signal }) {
      if (closing) return Promise.reject(new CancelledError('The sign-in callback receiver is closed.'));
      return waiters.wait({
        state,
        path: callbackPath,
        timeoutMs,
        ...(signal ? { signal } : {}),
        timeoutMessage:
          `No sign-in response reached ${redirectUri} within ${Math.round(timeoutMs / 1000)} s. Sign in again and ` +
          'finish in the browser; if no browser opened, open the printed link yourself.',
      });
    },
    deliver(pasted) {
      const url = URL.parse(pasted);
      if (!url) return false;
      const state = url.searchParams.get('state');
      if (state) cookies.delete(state); // the user pasted it from their own browser
      return waiters.deliver(url) === 'delivered';
    },
    settle,
    close() {
      closing ??= new Promise<void>((resolve) => {
        waiters.cancelAll('The sign-in callback receiver was closed.');
        for (const state of [...pages.keys()]) settle(state, { ok: false, message: 'The sign-in was cancelled.' });
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

const NOT_FOUND = noticePage('Not found', 'There is nothing here.');
const UNEXPECTED = noticePage(
  'Unexpected sign-in response',
  'This sign-in response was not expected here. Return to your editor and start signing in again.',
);
const NOT_THIS_BROWSER =
  'This sign-in response did not come from the browser that started the sign-in, so it was refused. Start signing in again.';
const OTHER_USER =
  'This sign-in link was opened by another user of this machine, so the sign-in was stopped. Start signing in again.';
const OPENED_TWICE =
  'This sign-in link was opened more than once, so the sign-in was stopped: someone else on this machine may have opened it. Start signing in again.';

function notThisBrowser(): InvalidResponseError {
  return new InvalidResponseError(
    'browser_mismatch',
    'The sign-in response did not come from the browser that started the sign-in (another user on this machine may have tried to complete it); sign in again',
  );
}

function otherUser(uid: number): InvalidResponseError {
  return new InvalidResponseError(
    'browser_mismatch',
    `Another user of this machine (uid ${uid}) opened the sign-in link or its response, so the sign-in was stopped; sign in again`,
  );
}

function openedTwice(): InvalidResponseError {
  return new InvalidResponseError(
    'browser_mismatch',
    'The sign-in link was opened more than once (another user on this machine may have read it); sign in again',
  );
}

function cookieOf(request: http.IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
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

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

function send(response: http.ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    ...SECURITY_HEADERS,
    Connection: 'close',
    ...headers,
  });
  response.end(html);
}
