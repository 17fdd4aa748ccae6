import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { networkInterfaces } from 'node:os';
import { loadCallbackPages } from '../../src/cli/callbackPage';
import { CancelledError, McpOAuthError } from '../../src/oauth/errors';
import { startLoopbackReceiver, type LoopbackReceiver } from '../../src/oauth/session/loopbackReceiver';

const SUCCESS = '<!doctype html><title>ok</title><p>SUCCESS-PAGE</p>';
const ERROR = '<!doctype html><title>failed</title><p>ERROR-PAGE</p>';

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** 'pending' when the promise has not settled within a short while. */
async function outcome(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  return Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    delay(50).then(() => 'pending' as const),
  ]);
}

/** A GET (or other method) over a fresh connection, without following redirects. */
function request(
  url: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connectError(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe('loopbackReceiver', () => {
  const cleanups: (() => Promise<unknown>)[] = [];

  async function start(options: Partial<Parameters<typeof startLoopbackReceiver>[0]> = {}): Promise<LoopbackReceiver> {
    const receiver = await startLoopbackReceiver({ successHtml: SUCCESS, errorHtml: ERROR, ...options });
    cleanups.push(() => receiver.close());
    return receiver;
  }

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('listens on 127.0.0.1 with an ephemeral port and the /callback path', async () => {
    const receiver = await start();
    assert.match(receiver.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.notEqual(new URL(receiver.redirectUri).port, '0');
  });

  it('resolves with the full callback URL and serves the success page', async () => {
    const receiver = await start();
    const waiting = receiver.waitForCallback('state-1', { timeoutMs: 5_000 });
    const response = await request(`${receiver.redirectUri}?code=abc&state=state-1&iss=https%3A%2F%2Fas.example`);
    assert.equal(response.status, 200);
    assert.equal(response.body, SUCCESS);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal(response.headers['referrer-policy'], 'no-referrer');
    assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
    const url = await waiting;
    assert.equal(url.origin + url.pathname, receiver.redirectUri);
    assert.equal(url.searchParams.get('code'), 'abc');
    assert.equal(url.searchParams.get('state'), 'state-1');
    assert.equal(url.searchParams.get('iss'), 'https://as.example');
  });

  it('ignores a callback with another state, then resolves on the right one', async () => {
    const receiver = await start();
    const waiting = receiver.waitForCallback('right', { timeoutMs: 5_000 });
    for (const query of ['?code=evil&state=wrong', '?code=evil', '?code=evil&state=right&state=wrong', '']) {
      const response = await request(`${receiver.redirectUri}${query}`);
      assert.equal(response.status, 400, query);
      assert.doesNotMatch(response.body, /SUCCESS-PAGE|evil/);
    }
    assert.equal(await outcome(waiting), 'pending');
    const response = await request(`${receiver.redirectUri}?code=good&state=right`);
    assert.equal(response.status, 200);
    assert.equal((await waiting).searchParams.get('code'), 'good');
  });

  it('answers only GET on the exact path, and leaves the waiter alone otherwise', async () => {
    const receiver = await start();
    const waiting = receiver.waitForCallback('s', { timeoutMs: 5_000 });
    const base = new URL(receiver.redirectUri);
    assert.equal((await request(`${base.origin}/callback/?state=s`)).status, 404);
    assert.equal((await request(`${base.origin}/other?state=s`)).status, 404);
    assert.equal((await request(`${base.origin}/%63allback?state=s`)).status, 404);
    assert.equal((await request(`${base.origin}/favicon.ico`)).status, 404);
    const post = await request(`${receiver.redirectUri}?state=s&code=x`, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    assert.equal(await outcome(waiting), 'pending');
  });

  it('serves the error page, without any text from the request, when the callback carries error', async () => {
    const receiver = await start();
    const waiting = receiver.waitForCallback('s', { timeoutMs: 5_000 });
    const description = encodeURIComponent('<script>alert(1)</script> call +1-555');
    const response = await request(
      `${receiver.redirectUri}?error=access_denied&error_description=${description}&state=s`,
    );
    assert.equal(response.status, 200);
    assert.equal(response.body, ERROR);
    const url = await waiting;
    assert.equal(url.searchParams.get('error'), 'access_denied');
  });

  it('has a fixed default error page', async () => {
    const receiver = await start({ errorHtml: undefined });
    const waiting = receiver.waitForCallback('s', { timeoutMs: 5_000 });
    const response = await request(`${receiver.redirectUri}?error=%3Cb%3Einjected%3C%2Fb%3E&state=s`);
    assert.match(response.body, /Sign-in failed/);
    assert.doesNotMatch(response.body, /injected/);
    await waiting;
  });

  it('serves the pages from media/callback.html', async () => {
    const pages = loadCallbackPages();
    assert.match(pages.successHtml, /Signed in/);
    assert.match(pages.successHtml, /close this tab/);
    assert.match(pages.successHtml, /prefers-color-scheme: dark/);
    assert.match(pages.errorHtml, /Sign-in failed/);
    assert.doesNotMatch(pages.successHtml + pages.errorHtml, /\{\{|<script|https?:\/\//);
    const receiver = await start(pages);
    const waiting = receiver.waitForCallback('s', { timeoutMs: 5_000 });
    assert.equal((await request(`${receiver.redirectUri}?code=c&state=s`)).body, pages.successHtml);
    await waiting;
  });

  it('falls back to a minimal page when media/callback.html is missing', () => {
    const pages = loadCallbackPages({
      readFile: () => {
        throw new Error('ENOENT');
      },
      returnTo: 'the terminal',
    });
    assert.match(pages.successHtml, /Signed in/);
    assert.match(pages.successHtml, /return to the terminal/);
    assert.match(pages.errorHtml, /Sign-in failed/);
  });

  it('rejects with callback_timeout after timeoutMs, and then treats the state as unknown', async () => {
    const receiver = await start();
    await assert.rejects(receiver.waitForCallback('s', { timeoutMs: 30 }), (error: unknown) => {
      assert.ok(error instanceof McpOAuthError);
      assert.equal(error.code, 'callback_timeout');
      assert.match(error.message, /Sign in again/);
      return true;
    });
    assert.equal((await request(`${receiver.redirectUri}?code=c&state=s`)).status, 400);
  });

  it('rejects with CancelledError when the signal aborts, and frees the state', async () => {
    const receiver = await start();
    const controller = new AbortController();
    const waiting = receiver.waitForCallback('s', { signal: controller.signal, timeoutMs: 5_000 });
    controller.abort();
    await assert.rejects(waiting, CancelledError);
    await assert.rejects(
      receiver.waitForCallback('other', { signal: controller.signal, timeoutMs: 5_000 }),
      CancelledError,
    );
    const again = receiver.waitForCallback('s', { timeoutMs: 5_000 });
    await request(`${receiver.redirectUri}?code=c&state=s`);
    assert.equal((await again).searchParams.get('code'), 'c');
  });

  it('refuses a second waiter for the same state', async () => {
    const receiver = await start();
    const first = receiver.waitForCallback('s', { timeoutMs: 5_000 });
    await assert.rejects(receiver.waitForCallback('s', { timeoutMs: 5_000 }), { code: 'invalid_config' });
    await request(`${receiver.redirectUri}?code=c&state=s`);
    await first;
  });

  it('rejects pending waiters and ends open connections on close', async () => {
    const receiver = await startLoopbackReceiver({ successHtml: SUCCESS });
    const cancelled = assert.rejects(receiver.waitForCallback('s', { timeoutMs: 5_000 }), CancelledError);
    const { port } = new URL(receiver.redirectUri);
    const idle = net.connect({ host: '127.0.0.1', port: Number(port) });
    await new Promise((resolve) => idle.once('connect', resolve));
    const ended = new Promise((resolve) => idle.once('close', resolve));
    await receiver.close();
    await ended;
    await cancelled;
    await assert.rejects(receiver.waitForCallback('t', { timeoutMs: 5_000 }), CancelledError);
    await receiver.close(); // idempotent
    assert.ok(await connectError('127.0.0.1', Number(port)));
  });

  it('reports a busy fixed port with port_in_use, naming the port', async () => {
    const first = await start();
    const port = Number(new URL(first.redirectUri).port);
    await assert.rejects(startLoopbackReceiver({ port, successHtml: SUCCESS }), (error: unknown) => {
      assert.ok(error instanceof McpOAuthError);
      assert.equal(error.code, 'port_in_use');
      assert.ok(error.message.includes(String(port)), error.message);
      return true;
    });
  });

  it('listens on a fixed free port when asked', async () => {
    const probe = await start();
    const port = Number(new URL(probe.redirectUri).port);
    await probe.close();
    const receiver = await start({ port });
    assert.equal(receiver.redirectUri, `http://127.0.0.1:${port}/callback`);
  });

  it('refuses an invalid port', async () => {
    for (const port of [-1, 65536, 1.5]) {
      await assert.rejects(startLoopbackReceiver({ port, successHtml: SUCCESS }), { code: 'invalid_config' });
    }
  });

  it('cannot be reached on other addresses than 127.0.0.1', async () => {
    const receiver = await start();
    const port = Number(new URL(receiver.redirectUri).port);
    const others = Object.values(networkInterfaces())
      .flatMap((infos) => infos ?? [])
      .filter((info) => !info.internal)
      .map((info) => info.address);
    for (const host of ['::1', ...others]) {
      assert.ok(await connectError(host, port), `reachable on ${host}`);
    }
    assert.equal(await connectError('127.0.0.1', port), undefined);
  });
});
