import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { networkInterfaces } from 'node:os';
import { CancelledError, McpOAuthError } from '../../src/oauth/errors';
import { cryptoRandom } from '../../src/oauth/http/random';
import { startLoopbackReceiver, type LoopbackReceiver, type PeerCheck } from '../../src/oauth/session/loopbackReceiver';

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
  cookie?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: cookie ? { cookie } : {} }, (res) => {
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

  async function start(
    options: { port?: number; path?: string; settleTimeoutMs?: number; peerCheck?: PeerCheck } = {},
  ): Promise<LoopbackReceiver> {
    const receiver = await startLoopbackReceiver({ returnTo: 'the tests', random: cryptoRandom, ...options });
    cleanups.push(() => receiver.close());
    return receiver;
  }

  /** The browser opens the start URL: it gets the cookie and is sent on to the authorization URL. */
  async function openStart(
    receiver: LoopbackReceiver,
    state: string,
    authorizationUrl = 'https://as.example/authorize?x=1',
  ) {
    const startUrl = await receiver.browserUrl(authorizationUrl, state);
    const response = await request(startUrl);
    const cookie = String(response.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
    return { startUrl, response, cookie };
  }

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('listens on 127.0.0.1 with an ephemeral port and the redirect path', async () => {
    const receiver = await start();
    assert.match(receiver.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.equal(new URL(receiver.redirectUri).port, String(receiver.port));
    const perAs = await start({ path: '/callback/abc123' });
    assert.match(perAs.redirectUri, /\/callback\/abc123$/);
  });

  it('sends the browser to a one-time start URL that sets an HttpOnly cookie and redirects to the AS', async () => {
    const receiver = await start();
    const state = 'state~of~the~request';
    const { startUrl, response, cookie } = await openStart(
      receiver,
      state,
      `https://as.example/authorize?state=${state}`,
    );
    assert.match(startUrl, new RegExp(`^http://127\\.0\\.0\\.1:${receiver.port}/start/[A-Za-z0-9_-]{43}$`));
    assert.doesNotMatch(startUrl, /as\.example|~/, 'the start URL gives nothing of the authorization request away');
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, `https://as.example/authorize?state=${state}`);
    assert.match(String(response.headers['set-cookie']), /HttpOnly/);
    assert.match(String(response.headers['set-cookie']), /SameSite=Lax/);
    assert.match(cookie, /^mcp-oauth-signin=[A-Za-z0-9_-]{43}$/);
  });

  it('resolves with the callback URL when it carries the state and the cookie, and holds the page until settled', async () => {
    const receiver = await start();
    const waiting = receiver.wait('state-1', { timeoutMs: 5_000 });
    const { cookie } = await openStart(receiver, 'state-1');
    const page = request(`${receiver.redirectUri}?code=abc&state=state-1&iss=https%3A%2F%2Fas.example`, 'GET', cookie);
    const url = await waiting;
    assert.equal(url.searchParams.get('code'), 'abc');
    assert.equal(url.searchParams.get('iss'), 'https://as.example');
    assert.equal(await outcome(page), 'pending', 'the browser waits for the outcome');
    receiver.settle('state-1', { ok: true });
    const response = await page;
    assert.equal(response.status, 200);
    assert.match(response.body, /Signed in/);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal(response.headers['referrer-policy'], 'no-referrer');
    assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
  });

  it('says what failed when the sign-in fails after the browser came back, escaping the message', async () => {
    const receiver = await start();
    const waiting = receiver.wait('s', { timeoutMs: 5_000 });
    const { cookie } = await openStart(receiver, 's');
    const page = request(`${receiver.redirectUri}?code=c&state=s`, 'GET', cookie);
    await waiting;
    receiver.settle('s', { ok: false, message: 'The token request failed with "invalid_grant" <b>x</b>' });
    const response = await page;
    assert.equal(response.status, 400);
    assert.match(response.body, /Sign-in failed/);
    assert.match(response.body, /invalid_grant/);
    assert.doesNotMatch(response.body, /Signed in|<b>x<\/b>/);
  });

  it('says the sign-in is still being completed when nobody settles it in time', async () => {
    const receiver = await start({ settleTimeoutMs: 50 });
    const waiting = receiver.wait('s', { timeoutMs: 5_000 });
    const { cookie } = await openStart(receiver, 's');
    const response = await request(`${receiver.redirectUri}?code=c&state=s`, 'GET', cookie);
    await waiting;
    assert.match(response.body, /still being completed/);
    assert.doesNotMatch(response.body, /Signed in/);
  });

  it('ends the sign-in when the peer check says another user opened its start URL, and asks it for every request', async () => {
    const seen: { remotePort: number; localPort: number }[] = [];
    const receiver = await start({
      peerCheck: async (peer) => {
        seen.push(peer);
        return { otherUser: 1234 };
      },
    });
    const waiting = receiver.wait('s-other', { timeoutMs: 5_000 });
    const { response } = await openStart(receiver, 's-other');
    assert.equal(response.status, 403);
    assert.match(response.body, /opened by another user/);
    await assert.rejects(waiting, /Another user of this machine \(uid 1234\)/);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.localPort, receiver.port);
    assert.ok(seen[0]!.remotePort > 0 && seen[0]!.remotePort !== receiver.port);
  });

  it('refuses the right state without the cookie (another browser), ending that sign-in', async () => {
    const receiver = await start();
    const waiting = receiver.wait('s', { timeoutMs: 5_000 });
    waiting.catch(() => undefined);
    await openStart(receiver, 's');
    const response = await request(`${receiver.redirectUri}?code=attacker&state=s`, 'GET', 'mcp-oauth-signin=forged');
    assert.equal(response.status, 400);
    assert.doesNotMatch(response.body, /Signed in|attacker/);
    await assert.rejects(waiting, { code: 'browser_mismatch' });
  });

  it('ends the sign-in when its start URL is opened a second time', async () => {
    const receiver = await start();
    const waiting = receiver.wait('s', { timeoutMs: 5_000 });
    waiting.catch(() => undefined);
    const { startUrl } = await openStart(receiver, 's');
    const second = await request(startUrl);
    assert.equal(second.status, 400);
    assert.equal(second.headers.location, undefined, 'the second browser is not sent to the AS');
    await assert.rejects(waiting, { code: 'browser_mismatch' });
  });

  it('ignores a callback with another state, then resolves on the right one', async () => {
    const receiver = await start();
    const waiting = receiver.wait('right', { timeoutMs: 5_000 });
    const { cookie } = await openStart(receiver, 'right');
    for (const query of ['?code=evil&state=wrong', '?code=evil', '?code=evil&state=right&state=wrong', '']) {
      const response = await request(`${receiver.redirectUri}${query}`, 'GET', cookie);
      assert.equal(response.status, 400, query);
      assert.doesNotMatch(response.body, /Signed in|evil/);
    }
    assert.equal(await outcome(waiting), 'pending');
    const page = request(`${receiver.redirectUri}?code=good&state=right`, 'GET', cookie);
    assert.equal((await waiting).searchParams.get('code'), 'good');
    receiver.settle('right', { ok: true });
    assert.equal((await page).status, 200);
  });

  it('refuses the right state on another redirect path (mix-up), ending that sign-in', async () => {
    const receiver = await start({ path: '/callback/as-one' });
    const waiting = receiver.wait('s', { timeoutMs: 5_000 });
    waiting.catch(() => undefined);
    const { cookie } = await openStart(receiver, 's');
    const base = new URL(receiver.redirectUri).origin;
    const response = await request(`${base}/callback/as-two?code=c&state=s`, 'GET', cookie);
    assert.equal(response.status, 400);
    await assert.rejects(waiting, { code: 'redirect_mismatch' });
  });

  it('answers only GET on the callback paths and the start URLs, and leaves the waiter alone otherwise', async () => {
    const receiver = await start();
    const waiting = receiver.wait('s', { timeoutMs: 5_000 });
    const base = new URL(receiver.redirectUri);
    assert.equal((await request(`${base.origin}/other?state=s`)).status, 404);
    assert.equal((await request(`${base.origin}/callbacks?state=s`)).status, 404);
    assert.equal((await request(`${base.origin}/%63allback?state=s`)).status, 404);
    assert.equal((await request(`${base.origin}/favicon.ico`)).status, 404);
    assert.equal((await request(`${base.origin}/start/unknown`)).status, 404);
    const post = await request(`${receiver.redirectUri}?state=s&code=x`, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    assert.equal(await outcome(waiting), 'pending');
  });

  it('takes a pasted redirect URL for the waiting sign-in (the user pasted it from their own browser)', async () => {
    const receiver = await start();
    const waiting = receiver.wait('s', { timeoutMs: 5_000 });
    await receiver.browserUrl('https://as.example/authorize', 's');
    assert.equal(receiver.deliver('not a url'), false);
    assert.equal(receiver.deliver(`${receiver.redirectUri}?code=c&state=other`), false);
    assert.equal(receiver.deliver(`${receiver.redirectUri}?code=c&state=s`), true);
    assert.equal((await waiting).searchParams.get('code'), 'c');
  });

  it('rejects with callback_timeout after timeoutMs, and then treats the state as unknown', async () => {
    const receiver = await start();
    await assert.rejects(receiver.wait('s', { timeoutMs: 30 }), (error: unknown) => {
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
    const waiting = receiver.wait('s', { signal: controller.signal, timeoutMs: 5_000 });
    controller.abort();
    await assert.rejects(waiting, CancelledError);
    await assert.rejects(receiver.wait('other', { signal: controller.signal, timeoutMs: 5_000 }), CancelledError);
    const again = receiver.wait('s', { timeoutMs: 5_000 });
    void request(`${receiver.redirectUri}?code=c&state=s`);
    assert.equal((await again).searchParams.get('code'), 'c');
  });

  it('refuses a second waiter for the same state', async () => {
    const receiver = await start();
    const first = receiver.wait('s', { timeoutMs: 5_000 });
    await assert.rejects(receiver.wait('s', { timeoutMs: 5_000 }), { code: 'invalid_config' });
    void request(`${receiver.redirectUri}?code=c&state=s`);
    await first;
  });

  it('rejects pending waiters, answers held pages and ends open connections on close', async () => {
    const receiver = await startLoopbackReceiver({ returnTo: 'the tests', random: cryptoRandom });
    const cancelled = assert.rejects(receiver.wait('s', { timeoutMs: 5_000 }), CancelledError);
    const held = receiver.wait('h', { timeoutMs: 5_000 });
    const page = request(`${receiver.redirectUri}?code=c&state=h`);
    await held;
    const idle = net.connect({ host: '127.0.0.1', port: receiver.port });
    await new Promise((resolve) => idle.once('connect', resolve));
    const ended = new Promise((resolve) => idle.once('close', resolve));
    await receiver.close();
    await ended;
    await cancelled;
    assert.doesNotMatch((await page).body, /Signed in/);
    await assert.rejects(receiver.wait('t', { timeoutMs: 5_000 }), CancelledError);
    await receiver.close(); // idempotent
    assert.ok(await connectError('127.0.0.1', receiver.port));
  });

  it('reports a busy fixed port with port_in_use, naming the port', async () => {
    const first = await start();
    await assert.rejects(
      startLoopbackReceiver({ port: first.port, returnTo: 'x', random: cryptoRandom }),
      (error: unknown) => {
        assert.ok(error instanceof McpOAuthError);
        assert.equal(error.code, 'port_in_use');
        assert.ok(error.message.includes(String(first.port)), error.message);
        return true;
      },
    );
  });

  it('listens on a fixed free port when asked', async () => {
    const probe = await start();
    const port = probe.port;
    await probe.close();
    const receiver = await start({ port });
    assert.equal(receiver.redirectUri, `http://127.0.0.1:${port}/callback`);
  });

  it('refuses an invalid port or path', async () => {
    for (const port of [-1, 65536, 1.5]) {
      await assert.rejects(startLoopbackReceiver({ port, returnTo: 'x', random: cryptoRandom }), {
        code: 'invalid_config',
      });
    }
    for (const path of ['callback', '/callback?x=1', '/start/x']) {
      await assert.rejects(startLoopbackReceiver({ path, returnTo: 'x', random: cryptoRandom }), {
        code: 'invalid_config',
      });
    }
  });

  it('cannot be reached on other addresses than 127.0.0.1', async () => {
    const receiver = await start();
    const others = Object.values(networkInterfaces())
      .flatMap((infos) => infos ?? [])
      .filter((info) => !info.internal)
      .map((info) => info.address);
    for (const host of ['::1', ...others]) {
      assert.ok(await connectError(host, receiver.port), `reachable on ${host}`);
    }
    assert.equal(await connectError('127.0.0.1', receiver.port), undefined);
  });
});
