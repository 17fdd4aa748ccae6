import assert from 'node:assert/strict';
import { ADDRESS_CLASSES, type AddressClass } from '../../src/oauth/http/addressClass';
import { guardedFetch, type RequestBound, type Resolver } from '../../src/oauth/http/guardedFetch';
import { policyFetch, type FetchLike } from '../../src/oauth/http/policyFetch';
import { json, raw, rejectsWithCode, startHostileServer, type HostileServer } from './support/hostileServer';

/**
 * The transport of the SSRF guard on its own, against a real loopback server: it must do what fetch does
 * for the core (method, headers, body, status, streamed body, no redirect followed), connect to the address
 * it resolved and checked, refuse before connecting, and fail generically for the hosts the metadata named.
 */
describe('guardedFetch (the pinned transport of the SSRF guard)', () => {
  let server: HostileServer;
  let port: number;
  let asked: string[];

  const resolve: Resolver = async (name) => {
    asked.push(name);
    if (name === 'pinned.test' || name === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
    if (name === 'never.test') return new Promise(() => undefined);
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
  const bound =
    (named: boolean, allowed: readonly AddressClass[] = ADDRESS_CLASSES) =>
    (): RequestBound => ({
      allowed: new Set(allowed),
      named,
    });
  const transport = (named = false, allowed?: readonly AddressClass[]): FetchLike =>
    guardedFetch({ resolve }, bound(named, allowed));
  const viaPolicy = (fetch: FetchLike, timeoutMs = 5000): FetchLike =>
    policyFetch({ fetch, timeoutMs, maxBodyBytes: 1024 * 1024, maxRedirects: 3 });

  before(async () => {
    server = await startHostileServer();
    port = Number(new URL(server.origin).port);
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    asked = [];
  });

  it('connects to the address it resolved, which the system DNS does not know', async () => {
    server.route('/where', (req, res) => json(200, { host: req.headers.host })(req, res, ''));
    const response = await transport()(`http://pinned.test:${port}/where`);
    assert.deepEqual(await response.json(), { host: `pinned.test:${port}` }, 'the Host header names the host');
    assert.deepEqual(asked, ['pinned.test'], 'one lookup, and the connection used its answer');
  });

  it('sends the method, the headers and the body as fetch would, and asks for no content coding', async () => {
    server.route('/echo', (req, res, body) =>
      json(200, {
        method: req.method,
        type: req.headers['content-type'],
        length: req.headers['content-length'],
        encoding: req.headers['accept-encoding'],
        custom: req.headers['x-custom'],
        body,
      })(req, res, body),
    );
    const response = await transport()(`${server.origin}/echo`, {
      method: 'POST',
      headers: { 'x-custom': 'yes' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'a b' }),
    });
    assert.deepEqual(await response.json(), {
      method: 'POST',
      type: 'application/x-www-form-urlencoded;charset=UTF-8',
      length: '39',
      encoding: 'identity',
      custom: 'yes',
      body: 'grant_type=client_credentials&scope=a+b',
    });
  });

  it('returns the status, every header (repeated ones too) and the body, streamed', async () => {
    server.route('/chunks', (_req, res) => {
      res.writeHead(201, 'Made', [
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['content-type', 'text/plain'],
      ]);
      res.write('first ');
      setTimeout(() => res.end('second'), 20);
    });
    const response = await transport()(`${server.origin}/chunks`);
    assert.equal(response.status, 201);
    assert.equal(response.statusText, 'Made');
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(await response.text(), 'first second');
  });

  it('has no body for a 204, nor for a HEAD', async () => {
    server.route('/empty', raw(204, ''));
    server.route('/head', raw(200, 'not sent for HEAD', { 'content-type': 'text/plain' }));
    assert.equal((await transport()(`${server.origin}/empty`)).body, null);
    const head = await transport()(`${server.origin}/head`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
  });

  it('does not follow a redirect', async () => {
    server.route('/from', raw(302, '', { location: '/to' }));
    const response = await transport()(`${server.origin}/from`);
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/to');
    assert.equal(server.count('/to'), 0);
  });

  it('under policyFetch, resolves and checks every redirect hop again', async () => {
    server.route('/from', raw(302, '', { location: '/to' }));
    server.route('/to', json(200, { ok: true }));
    const response = await viaPolicy(transport())(`http://localhost:${port}/from`);
    assert.deepEqual(await response.json(), { ok: true });
    assert.deepEqual(asked, ['localhost', 'localhost']);
  });

  it('fails on a body cut short instead of returning part of it', async () => {
    server.route('/cut', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"resource":"');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const response = await transport()(`${server.origin}/cut`);
    await assert.rejects(response.text());
    await rejectsWithCode(viaPolicy(transport(true))(`${server.origin}/cut`), 'network_error');
  });

  it('keeps the body limit of policyFetch', async () => {
    server.route('/huge', raw(200, 'x'.repeat(2 * 1024 * 1024)));
    await rejectsWithCode(viaPolicy(transport())(`${server.origin}/huge`), 'response_too_large');
  });

  it('refuses an address outside the bound before connecting', async () => {
    const error = await rejectsWithCode(
      viaPolicy(transport(true, ['public']))(`http://localhost:${port}/x`),
      'blocked_address',
    );
    assert.equal(server.requests.length, 0);
    assert.ok(!error.message.includes(String(port)) && !error.message.includes('127.0.0.1'), error.message);
  });

  it('fails generically for a host the metadata named, and with the detail for one the user named', async () => {
    const closed = await startHostileServer();
    await closed.close();
    const named = await rejectsWithCode(viaPolicy(transport(true))(`${closed.origin}/x`), 'network_error');
    assert.equal(named.cause, undefined);
    assert.ok(!named.message.includes('ECONNREFUSED') && !named.message.includes(new URL(closed.origin).port));
    const chosen = await rejectsWithCode(viaPolicy(transport(false))(`${closed.origin}/x`), 'network_error');
    assert.match(chosen.message, /ECONNREFUSED/);
    const unknown = await rejectsWithCode(viaPolicy(transport(true))('https://nowhere.test/x'), 'network_error');
    assert.equal(unknown.message, named.message.replace('"127.0.0.1"', '"nowhere.test"'), 'no name, same text');
  });

  it('stops at the timeout, also while the DNS does not answer, and policyFetch reports a timeout', async () => {
    server.route('/silent', () => undefined);
    await rejectsWithCode(viaPolicy(transport(true), 200)(`${server.origin}/silent`), 'timeout');
    await rejectsWithCode(viaPolicy(transport(true), 200)('https://never.test/x'), 'timeout');
  });

  it('stops when the caller cancels', async () => {
    server.route('/silent', () => undefined);
    const controller = new AbortController();
    const pending = policyFetch(
      { fetch: transport(), timeoutMs: 5000, maxBodyBytes: 1024, maxRedirects: 0 },
      controller.signal,
    )(`${server.origin}/silent`);
    setTimeout(() => controller.abort(), 50);
    await rejectsWithCode(pending, 'cancelled');
  });
});
