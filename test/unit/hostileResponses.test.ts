import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { AuthEnvironment } from '../../src/oauth/session/environment';
import {
  createAuthorizationRequest,
  redeemAuthorizationCallback,
  type PendingAuthorization,
} from '../../src/oauth/grants/authorizationCode';
import {
  assertPkceS256,
  fetchAuthServerMetadata,
  processAuthServerMetadata,
  type AuthServerMetadata,
} from '../../src/oauth/discovery/authServerMetadata';
import {
  registerClient,
  resolveClient,
  type ClientNeeds,
  type ClientRegistration,
  type ClientStore,
} from '../../src/oauth/client/registration';
import {
  HttpRequestError,
  InvalidResponseError,
  McpOAuthError,
  OAuthResponseError,
  type ErrorCode,
} from '../../src/oauth/errors';
import { policyFetch, type FetchLike, type HttpPolicy } from '../../src/oauth/http/policyFetch';
import { nullLogger } from '../../src/oauth/http/logger';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import { cryptoRandom } from '../../src/oauth/http/random';
import { refreshTokens } from '../../src/oauth/grants/refresh';
import { fetchResourceMetadata } from '../../src/oauth/discovery/resourceMetadata';
import { Scopes } from '../../src/oauth/tokens/scopes';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { TokenManager } from '../../src/oauth/tokens/tokenManager';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import {
  json,
  raw,
  rejectsWithCode,
  startHostileServer,
  type Handler,
  type HostileServer,
} from './support/hostileServer';
import { sessionAuthServer } from '../../src/oauth/grants/grantContext';
import { CraftedCallbacks } from './support/coreHarness';

/** An error class, as the tests name the class they expect. */
type ErrorClass = new (...args: never[]) => McpOAuthError;

/**
 * Hostile and malformed answers from a real loopback server, read through the real policy fetch with a
 * short timeout and a 1 MB body limit. Every failure must be an McpOAuthError with the exact code, must not
 * echo a planted secret, and must leave the token and client stores untouched.
 */

const PLANTED = 'planted-secret-7c1e9b';
const PLANTED_AT = `${PLANTED}-access-token`;
const PLANTED_RT = `${PLANTED}-refresh-token`;
const PLANTED_CODE = `${PLANTED}-code`;
const MB = 1024 * 1024;
/** Whether `text` holds a C0 or C1 control, DEL, a line or paragraph separator, or a bidi control: none may reach a message raw. */
function hasControl(text: string): boolean {
  return [...text].some((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return (
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069)
    );
  });
}
/** Markup, terminal escapes, header injection and a right-to-left override, as a callback or an AS might send. */
const HOSTILE_TEXT =
  '<script>alert(document.cookie)</script>\u0000\u0007\u001b[31m\r\nSet-Cookie: x=1\u007f\u0085\u009b31m\u2028\u202egnp.exe';
const REDIRECT_URI = 'http://127.0.0.1:1/callback';
const NOW = 1_700_000_000_000;

/** A 2 MB body sent in 64 KB chunks, without a Content-Length. */
const chunkedHuge: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 32; i++) res.write(chunk);
  res.end();
};

/** A 2 MB body announced by its Content-Length. */
const declaredHuge: Handler = (_req, res) => {
  const body = `{"pad":"${'x'.repeat(2 * MB)}"}`;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
};

/** A small gzip body that inflates to 20 MB of JSON whitespace. */
const gzipBomb: Handler = (_req, res) => {
  const body = gzipSync(Buffer.alloc(20 * MB, 0x20), { level: 9 });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
    'content-length': String(body.length),
  });
  res.end(body);
};

/** Slowloris: the headers at once, then one byte every 50 ms, for ever. */
const dribble: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{');
  const timer = setInterval(() => res.write(' '), 50);
  res.on('close', () => clearInterval(timer));
};

/** Accepts the request and never answers. */
const silent: Handler = () => undefined;

/** Closes the connection without a response. */
const hangUp: Handler = (req) => {
  req.socket.destroy();
};

/** Sends the headers and part of the body, then closes the connection. */
const hangUpMidBody: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
  res.write('{"resource":"');
  setTimeout(() => res.socket?.destroy(), 20);
};

const htmlError = (status: number): Handler =>
  raw(status, '<!doctype html><html><body><h1>502 Bad Gateway</h1><script>alert(1)</script></body></html>', {
    'content-type': 'text/html',
  });

class MemoryClientStore implements ClientStore {
  readonly entries = new Map<string, ClientRegistration>();
  sets = 0;
  async get(issuer: string): Promise<ClientRegistration | undefined> {
    return this.entries.get(issuer);
  }
  async set(issuer: string, registration: ClientRegistration): Promise<void> {
    this.sets++;
    this.entries.set(issuer, registration);
  }
  async delete(issuer: string): Promise<void> {
    this.entries.delete(issuer);
  }
}

describe('hostile responses', function () {
  let server: HostileServer;
  let elsewhere: HostileServer;
  let o: string;
  /** Every URL handed to the transport: proves which requests were (not) sent. */
  let transport: string[];

  const httpPolicy = (): HttpPolicy => ({
    fetch: (input, init) => {
      transport.push(String(input));
      return globalThis.fetch(input, init);
    },
    timeoutMs: 1000, // short enough for the slowloris cases, long enough for a 20 MB inflate on a loaded 2-core machine
    maxBodyBytes: MB,
    maxRedirects: 3,
  });
  const fetch = (): FetchLike => policyFetch(httpPolicy());

  before(async () => {
    server = await startHostileServer();
    elsewhere = await startHostileServer();
    o = server.origin;
  });

  after(async () => {
    await elsewhere.close();
    await server.close();
  });

  beforeEach(() => {
    server.reset();
    elsewhere.reset();
    transport = [];
  });

  describe('protected resource metadata (fetchResourceMetadata)', () => {
    const serverUrl = () => `${o}/mcp`;
    const good = (): Record<string, unknown> => ({
      resource: `${o}/mcp`,
      authorization_servers: ['https://as.example.com'],
    });
    const body =
      (patch: (o: string) => Record<string, unknown>): (() => Handler) =>
      () =>
        json(200, { ...good(), ...patch(o) });
    const without =
      (field: string): (() => Handler) =>
      () => {
        const doc = good();
        delete doc[field];
        return json(200, doc);
      };

    const cases: { name: string; code: ErrorCode; serve: () => Handler; type?: ErrorClass }[] = [
      {
        name: '"resource" a number',
        code: 'invalid_metadata',
        serve: body(() => ({ resource: 42 })),
        type: InvalidResponseError,
      },
      { name: '"resource" missing', code: 'invalid_metadata', serve: without('resource'), type: InvalidResponseError },
      { name: '"resource" null', code: 'invalid_metadata', serve: body(() => ({ resource: null })) },
      {
        name: '"resource" smuggled in "__proto__"',
        code: 'invalid_metadata',
        serve: () =>
          raw(200, `{"__proto__":{"resource":"${o}/mcp"},"authorization_servers":["https://as.example.com"]}`, {
            'content-type': 'application/json',
          }),
      },
      {
        name: '"resource" on another origin',
        code: 'resource_mismatch',
        serve: body(() => ({ resource: 'https://evil.example.com/mcp' })),
        type: InvalidResponseError,
      },
      {
        name: '"resource" on another port',
        code: 'resource_mismatch',
        serve: body(() => ({ resource: 'http://127.0.0.1:1/mcp' })),
      },
      {
        name: '"resource" a sibling path',
        code: 'resource_mismatch',
        serve: body((o) => ({ resource: `${o}/other` })),
      },
      {
        name: '"resource" a string prefix that is no parent',
        code: 'resource_mismatch',
        serve: body((o) => ({ resource: `${o}/mc` })),
      },
      {
        name: '"resource" with a query',
        code: 'resource_mismatch',
        serve: body((o) => ({ resource: `${o}/mcp?tenant=evil` })),
      },
      { name: '"authorization_servers" missing', code: 'invalid_metadata', serve: without('authorization_servers') },
      {
        name: '"authorization_servers" empty',
        code: 'invalid_metadata',
        serve: body(() => ({ authorization_servers: [] })),
      },
      {
        name: '"authorization_servers" a string',
        code: 'invalid_metadata',
        serve: body(() => ({ authorization_servers: 'https://as.example.com' })),
      },
      {
        name: '"authorization_servers" an object',
        code: 'invalid_metadata',
        serve: body(() => ({ authorization_servers: { 0: 'https://as.example.com' } })),
      },
      {
        name: '"authorization_servers" containing a number',
        code: 'invalid_metadata',
        serve: body(() => ({ authorization_servers: ['https://as.example.com', 7] })),
      },
      {
        name: '"authorization_servers" an http issuer off loopback',
        code: 'insecure_url',
        serve: body(() => ({ authorization_servers: ['http://as.example.com'] })),
      },
      {
        name: '"authorization_servers" a javascript: URL',
        code: 'insecure_url',
        serve: body(() => ({ authorization_servers: ['javascript:alert(document.domain)'] })),
      },
      {
        name: '"authorization_servers" a file: URL after a good one',
        code: 'insecure_url',
        serve: body(() => ({ authorization_servers: ['https://as.example.com', 'file:///etc/passwd'] })),
      },
      {
        name: '"authorization_servers" a relative URL',
        code: 'invalid_metadata',
        serve: body(() => ({ authorization_servers: ['/as'] })),
      },
      {
        name: '"authorization_servers" with credentials',
        code: 'invalid_metadata',
        serve: body(() => ({ authorization_servers: ['https://admin:hunter2@as.example.com'] })),
      },
      {
        name: '"scopes_supported" a string',
        code: 'invalid_metadata',
        serve: body(() => ({ scopes_supported: 'mcp read' })),
      },
      {
        name: '"scopes_supported" containing numbers',
        code: 'invalid_metadata',
        serve: body(() => ({ scopes_supported: ['mcp', 1] })),
      },
      { name: 'a non-JSON body', code: 'invalid_json', serve: () => htmlError(200), type: HttpRequestError },
      { name: 'a JSON array body', code: 'invalid_json', serve: () => json(200, [good()]) },
      { name: 'a JSON null body', code: 'invalid_json', serve: () => json(200, null) },
      { name: 'a JSON string body', code: 'invalid_json', serve: () => json(200, 'resource') },
      {
        name: 'an empty body',
        code: 'invalid_json',
        serve: () => raw(200, '', { 'content-type': 'application/json' }),
      },
      {
        name: 'a deeply nested body',
        code: 'invalid_metadata',
        serve: () =>
          raw(200, `{"resource":${'['.repeat(300_000)}${']'.repeat(300_000)}}`, { 'content-type': 'application/json' }),
      },
      {
        name: 'a 2 MB body with a Content-Length',
        code: 'response_too_large',
        serve: () => declaredHuge,
        type: HttpRequestError,
      },
      { name: 'a 2 MB chunked body', code: 'response_too_large', serve: () => chunkedHuge, type: HttpRequestError },
      {
        name: 'a gzip bomb (10 KB that inflates to 20 MB)',
        code: 'response_too_large',
        serve: () => gzipBomb,
        type: HttpRequestError,
      },
      {
        name: 'a redirect with a malformed Location',
        code: 'network_error',
        serve: () => raw(302, '', { location: 'http://[' }),
      },
      {
        name: 'a redirect to a javascript: URL',
        code: 'cross_origin_redirect',
        serve: () => raw(302, '', { location: 'javascript:alert(1)' }),
      },
      {
        name: 'a same-origin redirect loop',
        code: 'too_many_redirects',
        serve: () => raw(302, '', { location: '/prm' }),
      },
      {
        name: 'slowloris (headers, then a body dribbled past the timeout)',
        code: 'timeout',
        serve: () => dribble,
        type: HttpRequestError,
      },
      { name: 'no answer at all', code: 'timeout', serve: () => silent },
      {
        name: 'the socket closed before the response',
        code: 'network_error',
        serve: () => hangUp,
        type: HttpRequestError,
      },
      { name: 'the socket closed in the middle of the body', code: 'network_error', serve: () => hangUpMidBody },
      { name: 'HTTP 500', code: 'http_error', serve: () => htmlError(500) },
    ];

    for (const { name, code, serve, type } of cases) {
      it(`${name} → ${code}`, async () => {
        server.route('/prm', serve());
        const error = await rejectsWithCode(fetchResourceMetadata(fetch(), serverUrl(), [`${o}/prm`]), code, [PLANTED]);
        if (type) assert.ok(error instanceof type, `expected ${type.name}, got ${error.name}`);
        assert.ok(!hasControl(error.message), error.message);
      });
    }

    it('a redirect to another origin → cross_origin_redirect, and the other origin is never contacted', async () => {
      server.route('/prm', raw(302, '', { location: `${elsewhere.origin}/prm` }));
      elsewhere.route('/prm', json(200, good()));
      await rejectsWithCode(fetchResourceMetadata(fetch(), serverUrl(), [`${o}/prm`]), 'cross_origin_redirect');
      assert.equal(elsewhere.requests.length, 0);
    });

    it('an http:// URL off loopback → insecure_url, and nothing is sent', async () => {
      await rejectsWithCode(
        fetchResourceMetadata(fetch(), 'http://mcp.example.com/mcp', [
          'http://mcp.example.com/.well-known/oauth-protected-resource/mcp',
        ]),
        'insecure_url',
      );
      assert.deepEqual(transport, []);
    });

    it('a well-formed document is accepted (the table above fails for its planted defect only)', async () => {
      server.route('/prm', json(200, { ...good(), scopes_supported: ['mcp'] }));
      const metadata = await fetchResourceMetadata(fetch(), serverUrl(), [`${o}/prm`]);
      assert.deepEqual(metadata, {
        resource: `${o}/mcp`,
        authorizationServers: ['https://as.example.com'],
        scopesSupported: ['mcp'],
        source: `${o}/prm`,
      });
    });
  });

  describe('authorization server metadata (fetchAuthServerMetadata)', () => {
    const good = (): Record<string, unknown> => ({
      issuer: o,
      authorization_endpoint: `${o}/authorize`,
      token_endpoint: `${o}/token`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    const body =
      (patch: (o: string) => Record<string, unknown>): (() => Handler) =>
      () =>
        json(200, { ...good(), ...patch(o) });
    const without =
      (field: string): (() => Handler) =>
      () => {
        const doc = good();
        delete doc[field];
        return json(200, doc);
      };

    const cases: { name: string; code: ErrorCode; serve: () => Handler }[] = [
      {
        name: '"issuer" of another origin',
        code: 'issuer_mismatch',
        serve: body(() => ({ issuer: 'https://evil.example.com' })),
      },
      { name: '"issuer" with an extra path', code: 'issuer_mismatch', serve: body((o) => ({ issuer: `${o}/tenant` })) },
      { name: '"issuer" missing', code: 'invalid_metadata', serve: without('issuer') },
      { name: '"issuer" a number', code: 'invalid_metadata', serve: body(() => ({ issuer: 1 })) },
      {
        name: '"issuer" http off loopback',
        code: 'insecure_url',
        serve: body(() => ({ issuer: 'http://as.example.com' })),
      },
      { name: '"issuer" with a query', code: 'invalid_metadata', serve: body((o) => ({ issuer: `${o}?tenant=x` })) },
      { name: '"token_endpoint" missing', code: 'invalid_metadata', serve: without('token_endpoint') },
      {
        name: '"token_endpoint" http off loopback',
        code: 'insecure_url',
        serve: body(() => ({ token_endpoint: 'http://as.example.com/token' })),
      },
      {
        name: '"token_endpoint" relative',
        code: 'invalid_metadata',
        serve: body(() => ({ token_endpoint: '/token' })),
      },
      {
        name: '"token_endpoint" with a fragment',
        code: 'invalid_metadata',
        serve: body((o) => ({ token_endpoint: `${o}/token#x` })),
      },
      {
        name: '"authorization_endpoint" a javascript: URL',
        code: 'insecure_url',
        serve: body(() => ({ authorization_endpoint: 'javascript:alert(1)' })),
      },
      {
        name: '"registration_endpoint" a data: URL',
        code: 'insecure_url',
        serve: body(() => ({ registration_endpoint: 'data:text/html,<script>alert(1)</script>' })),
      },
      {
        name: '"code_challenge_methods_supported" a string',
        code: 'invalid_metadata',
        serve: body(() => ({ code_challenge_methods_supported: 'S256' })),
      },
      {
        name: '"scopes_supported" an object',
        code: 'invalid_metadata',
        serve: body(() => ({ scopes_supported: { mcp: true } })),
      },
      {
        name: '"authorization_response_iss_parameter_supported" a string',
        code: 'invalid_metadata',
        serve: body(() => ({ authorization_response_iss_parameter_supported: 'true' })),
      },
      {
        name: '"client_id_metadata_document_supported" a number',
        code: 'invalid_metadata',
        serve: body(() => ({ client_id_metadata_document_supported: 1 })),
      },
      { name: 'a non-JSON body', code: 'invalid_json', serve: () => htmlError(200) },
      { name: 'HTTP 503', code: 'http_error', serve: () => htmlError(503) },
    ];

    for (const { name, code, serve } of cases) {
      it(`${name} → ${code}`, async () => {
        server.route('/asm', serve());
        const error = await rejectsWithCode(fetchAuthServerMetadata(fetch(), [`${o}/asm`], o), code, [PLANTED]);
        assert.ok(!hasControl(error.message), error.message);
      });
    }

    it('a well-formed document is accepted', async () => {
      server.route(
        '/asm',
        json(200, { ...good(), authorization_response_iss_parameter_supported: true, unknown_field: { nested: 1 } }),
      );
      const metadata = await fetchAuthServerMetadata(fetch(), [`${o}/asm`], o);
      assert.equal(metadata?.issuer, o);
      assert.equal(metadata?.token_endpoint, `${o}/token`);
      assert.equal(metadata?.authorization_response_iss_parameter_supported, true);
      assert.equal((metadata as Record<string, unknown>).unknown_field, undefined);
    });

    it('processAuthServerMetadata without an expected issuer still checks every field', () => {
      assert.throws(
        () => processAuthServerMetadata({ ...good(), token_endpoint: 'http://as.example.com/token' }, undefined),
        (error: unknown) => error instanceof McpOAuthError && error.code === 'insecure_url',
      );
    });

    const pkce: [string, unknown][] = [
      ['absent', undefined],
      ['empty', []],
      ["['plain']", ['plain']],
      ["['s256'] (wrong case)", ['s256']],
    ];
    for (const [name, methods] of pkce) {
      it(`assertPkceS256 with code_challenge_methods_supported ${name} → pkce_unsupported`, () => {
        const metadata = processAuthServerMetadata(
          methods === undefined
            ? { issuer: o, token_endpoint: `${o}/token` }
            : { issuer: o, token_endpoint: `${o}/token`, code_challenge_methods_supported: methods },
          o,
        );
        assert.throws(
          () => assertPkceS256(metadata),
          (error: unknown) => error instanceof McpOAuthError && error.code === 'pkce_unsupported',
        );
      });
    }

    it("assertPkceS256 accepts ['plain', 'S256']", () => {
      assertPkceS256(
        processAuthServerMetadata(
          { issuer: o, token_endpoint: `${o}/token`, code_challenge_methods_supported: ['plain', 'S256'] },
          o,
        ),
      );
    });
  });

  describe('dynamic client registration (registerClient, resolveClient)', () => {
    const as = (): AuthServerMetadata => ({
      issuer: o,
      token_endpoint: `${o}/token`,
      registration_endpoint: `${o}/register`,
      code_challenge_methods_supported: ['S256'],
    });
    const needs: ClientNeeds = { redirectUri: REDIRECT_URI, grantTypes: ['authorization_code', 'refresh_token'] };

    const cases: { name: string; code: ErrorCode; serve: Handler; check?: (error: McpOAuthError) => void }[] = [
      {
        name: '"client_id" missing',
        code: 'invalid_response',
        serve: json(201, { client_secret: PLANTED, client_secret_expires_at: 0 }),
      },
      {
        name: '"client_id" a number',
        code: 'invalid_response',
        serve: json(201, { client_id: 12345, registration_access_token: PLANTED }),
      },
      { name: '"client_id" empty', code: 'invalid_response', serve: json(201, { client_id: '' }) },
      {
        name: '"client_secret" a number',
        code: 'invalid_response',
        serve: json(201, { client_id: 'c', client_secret: 42 }),
      },
      {
        name: 'an unsupported "token_endpoint_auth_method"',
        code: 'invalid_response',
        serve: json(201, { client_id: 'c', token_endpoint_auth_method: 'private_key_jwt', client_secret: PLANTED }),
      },
      {
        name: 'a client_secret_post method without a client_secret',
        code: 'invalid_response',
        serve: json(201, { client_id: 'c', token_endpoint_auth_method: 'client_secret_post' }),
      },
      {
        name: 'an OAuth error (400 invalid_client_metadata)',
        code: 'registration_failed',
        serve: json(400, { error: 'invalid_client_metadata', error_description: 'redirect_uris rejected' }),
        check: (error) => {
          assert.ok(error instanceof OAuthResponseError);
          assert.equal(error.error, 'invalid_client_metadata');
          assert.equal(error.status, 400);
        },
      },
      { name: 'a 400 with an HTML body', code: 'invalid_response', serve: htmlError(400) },
      { name: 'a 500 with an HTML body', code: 'registration_failed', serve: htmlError(500) },
      { name: 'a 201 with a non-JSON body', code: 'invalid_json', serve: htmlError(201) },
      { name: 'a 201 with a JSON array', code: 'invalid_json', serve: json(201, [{ client_id: 'c' }]) },
      { name: 'a 2 MB answer', code: 'response_too_large', serve: chunkedHuge },
      { name: 'a redirect of the POST', code: 'too_many_redirects', serve: raw(307, '', { location: '/register2' }) },
      { name: 'the socket closed', code: 'network_error', serve: hangUp },
    ];

    for (const { name, code, serve, check } of cases) {
      it(`${name} → ${code}, and resolveClient stores nothing`, async () => {
        server.route('/register', serve);
        const error = await rejectsWithCode(registerClient(fetch(), as(), needs, NOW), code, [PLANTED]);
        check?.(error);
        const store = new MemoryClientStore();
        await rejectsWithCode(
          resolveClient({ fetch: fetch(), as: as(), store: store, now: NOW, hasSecret: false }, {}, needs),
          code,
          [PLANTED],
        );
        assert.equal(store.sets, 0);
        assert.equal(await store.get(o), undefined);
        assert.equal(server.count('/register'), 2);
      });
    }

    it('a well-formed registration is stored once', async () => {
      server.route('/register', json(201, { client_id: 'dcr-client' }));
      const store = new MemoryClientStore();
      const registration = await resolveClient(
        { fetch: fetch(), as: as(), store: store, now: NOW, hasSecret: false },
        {},
        needs,
      );
      assert.equal(registration.clientId, 'dcr-client');
      assert.equal(store.sets, 1);
    });
  });

  describe('token responses (redeemAuthorizationCallback, refreshTokens)', () => {
    const as = (): AuthServerMetadata => ({
      issuer: o,
      authorization_endpoint: `${o}/authorize`,
      token_endpoint: `${o}/token`,
      code_challenge_methods_supported: ['S256'],
    });
    const client = (): ClientRegistration => ({
      issuer: o,
      clientId: 'client-1',
      tokenEndpointAuthMethod: 'none',
      method: 'preregistered',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      registeredAt: 0,
    });
    const stored = (expiresAt: number): TokenSet => ({
      accessToken: 'old-access-token',
      tokenType: 'Bearer',
      expiresAt,
      refreshToken: PLANTED_RT,
      scopes: ['mcp'],
      issuer: o,
      clientId: 'client-1',
      tokenEndpoint: `${o}/token`,
      resource: `${o}/mcp`,
      obtainedAt: NOW - 3_600_000,
    });
    const pending = (): Promise<PendingAuthorization> =>
      createAuthorizationRequest({
        as: as(),
        client: client(),
        redirectUri: REDIRECT_URI,
        scopes: Scopes.of(['mcp']),
        resource: `${o}/mcp`,
        random: cryptoRandom,
      });
    const redeem = async (): Promise<TokenSet> => {
      const p = await pending();
      return redeemAuthorizationCallback(
        { fetch: fetch(), as: as(), client: client(), credentials: {}, now: () => NOW },
        p,
        new URL(`${REDIRECT_URI}?code=${PLANTED_CODE}&state=${p.state}`),
      );
    };
    const refresh = (): Promise<TokenSet> =>
      refreshTokens(
        {
          fetch: fetch(),
          as: sessionAuthServer(stored(NOW - 1000)),
          client: client(),
          credentials: {},
          now: () => NOW,
        },
        stored(NOW - 1000),
      );
    const good = { access_token: PLANTED_AT, token_type: 'Bearer', expires_in: 3600, refresh_token: `${PLANTED_RT}-2` };
    const tokenBody = (patch: Record<string, unknown>, drop: string[] = []): Handler => {
      const doc: Record<string, unknown> = { ...good, ...patch };
      for (const field of drop) delete doc[field];
      return json(200, doc);
    };

    /** A failure the token manager must treat as temporary (the AS is down), whatever its exact code. */
    const transient = (error: McpOAuthError): void => {
      const ok =
        error instanceof HttpRequestError ||
        error.code === 'http_error' ||
        (error instanceof OAuthResponseError && (error.status ?? 0) >= 500);
      assert.ok(
        ok,
        `a 5xx from the token endpoint must be reported as transient (http_error, or an OAuthResponseError with its 5xx status); got ${error.name} ${error.code}: ${error.message}`,
      );
    };

    interface TokenCase {
      name: string;
      serve: Handler;
      /** The exact code from redeemAuthorizationCallback and from refreshTokens; `transient` for 5xx answers. */
      redeem: ErrorCode | 'transient';
      refresh: ErrorCode | 'transient';
      oauthError?: string;
    }
    const cases: TokenCase[] = [
      {
        name: '"token_type" missing',
        serve: tokenBody({}, ['token_type']),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"token_type" mac',
        serve: tokenBody({ token_type: 'mac' }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"token_type" DPoP, never asked for',
        serve: tokenBody({ token_type: 'DPoP' }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"token_type" a number',
        serve: tokenBody({ token_type: 1 }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"expires_in" negative',
        serve: tokenBody({ expires_in: -3600 }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"expires_in" zero',
        serve: tokenBody({ expires_in: 0 }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"expires_in" not a number',
        serve: tokenBody({ expires_in: 'soon' }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"access_token" a number',
        serve: tokenBody({ access_token: 12345 }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"access_token" missing',
        serve: tokenBody({}, ['access_token']),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"access_token" empty',
        serve: tokenBody({ access_token: '' }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"access_token" with CR LF (header injection)',
        serve: tokenBody({ access_token: `${PLANTED_AT}\r\nX-Injected: 1` }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"refresh_token" a number',
        serve: tokenBody({ refresh_token: 7 }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"scope" an array',
        serve: tokenBody({ scope: ['mcp'] }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: '"id_token" not a JWT',
        serve: tokenBody({ id_token: `${PLANTED}-id-token` }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: 'an OAuth error invalid_grant (400)',
        serve: json(400, { error: 'invalid_grant', error_description: 'code expired' }),
        redeem: 'token_error',
        refresh: 'refresh_failed',
        oauthError: 'invalid_grant',
      },
      {
        name: 'an OAuth error with a hostile error_description',
        serve: json(400, { error: 'invalid_grant', error_description: HOSTILE_TEXT }),
        redeem: 'token_error',
        refresh: 'refresh_failed',
        oauthError: 'invalid_grant',
      },
      {
        name: 'a 401 with a Bearer challenge',
        serve: json(401, { error: 'invalid_client' }, { 'www-authenticate': 'Bearer error="invalid_client"' }),
        redeem: 'token_error',
        refresh: 'refresh_failed',
        oauthError: 'invalid_client',
      },
      {
        name: 'a 200 with a non-JSON body',
        serve: raw(200, `access_token=${PLANTED_AT}&token_type=bearer`, { 'content-type': 'text/plain' }),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: 'a 200 with a JSON array',
        serve: json(200, [good]),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      {
        name: 'a 400 with an HTML body',
        serve: htmlError(400),
        redeem: 'invalid_token_response',
        refresh: 'invalid_token_response',
      },
      { name: 'a 500 with an HTML body', serve: htmlError(500), redeem: 'transient', refresh: 'transient' },
      {
        name: 'a 503 with an OAuth error body',
        serve: json(503, { error: 'temporarily_unavailable' }),
        redeem: 'transient',
        refresh: 'transient',
      },
      { name: 'a 2 MB answer', serve: chunkedHuge, redeem: 'response_too_large', refresh: 'response_too_large' },
      {
        name: 'a redirect to another origin',
        serve: raw(307, '', { location: 'https://evil.example.com/token' }),
        redeem: 'cross_origin_redirect',
        refresh: 'cross_origin_redirect',
      },
      { name: 'slowloris', serve: dribble, redeem: 'timeout', refresh: 'timeout' },
      { name: 'the socket closed', serve: hangUp, redeem: 'network_error', refresh: 'network_error' },
    ];

    const expectFailure = async (
      promise: Promise<unknown>,
      expected: ErrorCode | 'transient',
      oauthError: string | undefined,
    ): Promise<void> => {
      let error: McpOAuthError;
      if (expected === 'transient') {
        const caught = await promise.then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(caught instanceof McpOAuthError, `expected an McpOAuthError, got ${String(caught)}`);
        error = caught;
        transient(error);
      } else {
        error = await rejectsWithCode(promise, expected);
      }
      for (const secret of [PLANTED])
        assert.ok(!error.message.includes(secret), `the message leaks a planted secret: ${error.message}`);
      assert.ok(!hasControl(error.message), error.message);
      if (oauthError) {
        assert.ok(error instanceof OAuthResponseError, `expected an OAuthResponseError, got ${error.name}`);
        assert.equal(error.error, oauthError);
      }
    };

    for (const c of cases) {
      it(`redeem: ${c.name} → ${c.redeem}`, async () => {
        server.route('/token', c.serve);
        await expectFailure(redeem(), c.redeem, c.oauthError);
        assert.equal(server.count('/token'), 1);
      });
      it(`refresh: ${c.name} → ${c.refresh}`, async () => {
        server.route('/token', c.serve);
        await expectFailure(refresh(), c.refresh, c.oauthError);
        assert.equal(server.count('/token'), 1);
      });
    }

    it('an absurd "expires_in" (1e308) never yields a non-finite expiry', async () => {
      server.route('/token', tokenBody({ expires_in: 1e308 }));
      for (const run of [redeem, refresh]) {
        const outcome = await run().then(
          (tokens) => tokens,
          (error: unknown) => error,
        );
        if (outcome instanceof McpOAuthError) {
          assert.ok(['invalid_token_response', 'refresh_failed'].includes(outcome.code), outcome.message);
        } else {
          const tokens = outcome as TokenSet;
          assert.ok(
            tokens.expiresAt === undefined || Number.isFinite(tokens.expiresAt),
            `expiresAt is ${tokens.expiresAt}`,
          );
        }
      }
    });

    it('a well-formed token response is accepted by both', async () => {
      server.route('/token', json(200, { ...good, scope: 'mcp' }));
      const tokens = await redeem();
      assert.equal(tokens.accessToken, PLANTED_AT);
      assert.equal(tokens.expiresAt, NOW + 3_600_000);
      const refreshed = await refresh();
      assert.equal(refreshed.refreshToken, `${PLANTED_RT}-2`);
    });

    describe('the token manager with the real refresh leaves the store untouched', () => {
      const manager = (store: MemoryTokenStore) =>
        new TokenManager({
          key: 'k',
          serverUrl: `${o}/mcp`,
          store,
          now: () => NOW,
          refreshBeforeMs: 60_000,
          refresh: (tokens) =>
            refreshTokens(
              { fetch: fetch(), as: sessionAuthServer(tokens), client: client(), credentials: {}, now: () => NOW },
              tokens,
            ),
        });

      for (const c of cases) {
        it(`${c.name}, with an expired token: throws, nothing stored`, async () => {
          server.route('/token', c.serve);
          const store = new MemoryTokenStore();
          const before = stored(NOW - 1000);
          await store.set('k', before);
          const tm = manager(store);
          const caught = await tm.getAccessToken().then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.ok(caught instanceof McpOAuthError, `expected an McpOAuthError, got ${String(caught)}`);
          assert.ok(!caught.message.includes(PLANTED), caught.message);
          assert.deepEqual(await store.get('k'), before);
          assert.notEqual(tm.status.state, 'valid');
        });
      }

      const outages: [string, Handler][] = [
        ['the socket closed', hangUp],
        ['slowloris', dribble],
        ['a 500 with an HTML body', htmlError(500)],
        ['a 502 with an empty body', raw(502, '')],
        ['a 503 with an OAuth error body', json(503, { error: 'temporarily_unavailable' })],
      ];
      for (const [name, serve] of outages) {
        it(`${name}, with a still-valid token inside the refresh margin: keeps it, status stale`, async () => {
          server.route('/token', serve);
          const store = new MemoryTokenStore();
          const before = stored(NOW + 30_000);
          await store.set('k', before);
          const tm = manager(store);
          assert.equal(await tm.getAccessToken(), 'old-access-token');
          assert.equal(tm.status.state, 'stale');
          assert.deepEqual(await store.get('k'), before);
        });
      }
    });
  });

  describe('authorization callbacks (redeemAuthorizationCallback)', () => {
    const as = (patch: Partial<AuthServerMetadata> = {}): AuthServerMetadata => ({
      issuer: o,
      authorization_endpoint: `${o}/authorize`,
      token_endpoint: `${o}/token`,
      code_challenge_methods_supported: ['S256'],
      ...patch,
    });
    const client: ClientRegistration = {
      issuer: 'set below',
      clientId: 'client-1',
      tokenEndpointAuthMethod: 'none',
      method: 'preregistered',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code'],
      registeredAt: 0,
    };

    const cases: {
      name: string;
      code: ErrorCode;
      as?: Partial<AuthServerMetadata>;
      query: (state: string, o: string) => Record<string, string> | [string, string][];
      check?: (error: McpOAuthError) => void;
    }[] = [
      { name: 'a wrong state', code: 'state_mismatch', query: () => ({ code: PLANTED_CODE, state: 'attacker-state' }) },
      { name: 'no state', code: 'state_mismatch', query: () => ({ code: PLANTED_CODE }) },
      {
        name: 'a state differing in case',
        code: 'state_mismatch',
        query: (s) => ({ code: PLANTED_CODE, state: s.toUpperCase() === s ? s.toLowerCase() : s.toUpperCase() }),
      },
      {
        name: 'two states, the wrong one first',
        code: 'state_mismatch',
        query: (s) => [
          ['code', PLANTED_CODE],
          ['state', 'attacker'],
          ['state', s],
        ],
      },
      {
        name: 'two states, the right one first',
        code: 'invalid_response',
        query: (s) => [
          ['code', PLANTED_CODE],
          ['state', s],
          ['state', 'attacker'],
        ],
      },
      {
        name: 'no iss although the AS advertises authorization_response_iss_parameter_supported',
        code: 'iss_mismatch',
        as: { authorization_response_iss_parameter_supported: true },
        query: (s) => ({ code: PLANTED_CODE, state: s }),
      },
      {
        name: 'a wrong iss (AS advertising it)',
        code: 'iss_mismatch',
        as: { authorization_response_iss_parameter_supported: true },
        query: (s) => ({ code: PLANTED_CODE, state: s, iss: 'https://evil.example.com' }),
      },
      {
        name: 'a wrong iss (AS not advertising it)',
        code: 'iss_mismatch',
        query: (s) => ({ code: PLANTED_CODE, state: s, iss: 'https://evil.example.com' }),
      },
      {
        name: 'an iss with a trailing slash',
        code: 'iss_mismatch',
        query: (s, o) => ({ code: PLANTED_CODE, state: s, iss: `${o}/` }),
      },
      {
        name: 'a hostile iss',
        code: 'iss_mismatch',
        query: (s) => ({ code: PLANTED_CODE, state: s, iss: HOSTILE_TEXT }),
      },
      {
        name: 'error=access_denied with a hostile error_description',
        code: 'authorization_denied',
        query: (s) => ({
          error: 'access_denied',
          error_description: HOSTILE_TEXT,
          error_uri: 'javascript:alert(1)',
          state: s,
        }),
        check: (error) => {
          assert.ok(error instanceof OAuthResponseError);
          assert.equal(error.error, 'access_denied');
          assert.ok(!error.message.includes('<script'), error.message);
          assert.ok(!error.message.includes('alert'), error.message);
          assert.ok(!error.message.includes('Set-Cookie'), error.message);
          assert.ok(!error.message.includes('javascript:'), error.message);
        },
      },
      {
        name: 'error=server_error with a hostile error_description',
        code: 'authorization_failed',
        query: (s) => ({ error: 'server_error', error_description: HOSTILE_TEXT, state: s }),
        check: (error) => {
          assert.ok(!error.message.includes('<script'), error.message);
          assert.ok(!error.message.includes('Set-Cookie'), error.message);
        },
      },
      {
        name: 'a hostile error code',
        code: 'authorization_failed',
        query: (s) => ({ error: `\u202e\u2028\u0085\u007f<b>x</b>${'y'.repeat(500)}`, state: s }),
        check: (error) => assert.ok(error.message.length < 300, error.message),
      },
      {
        name: 'error=access_denied with a wrong state',
        code: 'state_mismatch',
        query: () => ({ error: 'access_denied', state: 'attacker' }),
      },
      { name: 'no code', code: 'invalid_response', query: (s) => ({ state: s }) },
      {
        name: 'an implicit-flow access_token',
        code: 'invalid_response',
        query: (s) => ({ state: s, code: PLANTED_CODE, token: PLANTED_AT }),
      },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.code}, and no token request`, async () => {
        server.route('/token', json(200, { access_token: PLANTED_AT, token_type: 'Bearer', expires_in: 3600 }));
        const metadata = as(c.as);
        const registration = { ...client, issuer: o };
        const pending = await createAuthorizationRequest({
          as: metadata,
          client: registration,
          redirectUri: REDIRECT_URI,
          scopes: Scopes.of(['mcp']),
          random: cryptoRandom,
        });
        const callback = new URL(REDIRECT_URI);
        const query = c.query(pending.state, o);
        for (const [k, v] of Array.isArray(query) ? query : Object.entries(query)) callback.searchParams.append(k, v);
        const error = await rejectsWithCode(
          redeemAuthorizationCallback(
            { fetch: fetch(), as: metadata, client: registration, credentials: {}, now: () => NOW },
            pending,
            callback,
          ),
          c.code,
          [PLANTED, pending.state, pending.codeVerifier],
        );
        assert.ok(
          !hasControl(error.message),
          `raw control characters in the message: ${JSON.stringify(error.message)}`,
        );
        c.check?.(error);
        assert.equal(server.count('/token'), 0);
        assert.deepEqual(transport, []);
      });
    }
  });

  describe('sign-in end to end (ServerAuth.signIn) stores nothing on a hostile answer', () => {
    const makeEnv = () => {
      const tokens = new MemoryTokenStore();
      const clients = new MemoryClientStore();
      const env: AuthEnvironment = {
        http: httpPolicy(),
        now: () => NOW,
        random: cryptoRandom,
        logger: nullLogger,
        tokens,
        clients,
        refreshBeforeMs: 60_000,
      };
      return { env, tokens, clients };
    };
    const agent = (query: (state: string) => Record<string, string>) => new CraftedCallbacks(query, REDIRECT_URI);
    const serveDiscovery = (patch: Record<string, unknown> = {}) => {
      server.route(
        '/.well-known/oauth-protected-resource/mcp',
        json(200, { resource: `${o}/mcp`, authorization_servers: [o] }),
      );
      server.route(
        '/.well-known/oauth-authorization-server',
        json(200, {
          issuer: o,
          authorization_endpoint: `${o}/authorize`,
          token_endpoint: `${o}/token`,
          registration_endpoint: `${o}/register`,
          code_challenge_methods_supported: ['S256'],
          ...patch,
        }),
      );
    };

    const tokenAnswers: [string, ErrorCode, Handler][] = [
      [
        '"token_type" mac',
        'invalid_token_response',
        json(200, { access_token: PLANTED_AT, token_type: 'mac', expires_in: 3600 }),
      ],
      ['"access_token" a number', 'invalid_token_response', json(200, { access_token: 1, token_type: 'Bearer' })],
      [
        '"expires_in" negative',
        'invalid_token_response',
        json(200, { access_token: PLANTED_AT, token_type: 'Bearer', expires_in: -1 }),
      ],
      ['invalid_grant', 'token_error', json(400, { error: 'invalid_grant' })],
      ['a 2 MB answer', 'response_too_large', chunkedHuge],
      ['slowloris', 'timeout', dribble],
    ];
    for (const [name, code, serve] of tokenAnswers) {
      it(`token endpoint: ${name} → ${code}, no tokens stored`, async () => {
        serveDiscovery();
        server.route('/token', serve);
        const { env, tokens } = makeEnv();
        const auth = new ServerAuth(env, `${o}/mcp`, { clientId: 'client-1' });
        await rejectsWithCode(auth.signIn(agent((state) => ({ code: PLANTED_CODE, state }))), code, [PLANTED]);
        assert.deepEqual(await tokens.keys(), []);
        assert.equal(server.count('/token'), 1);
      });
    }

    const callbacks: [string, ErrorCode, (state: string) => Record<string, string>][] = [
      ['a wrong state', 'state_mismatch', () => ({ code: PLANTED_CODE, state: 'attacker' })],
      ['a wrong iss', 'iss_mismatch', (state) => ({ code: PLANTED_CODE, state, iss: 'https://evil.example.com' })],
      ['access_denied', 'authorization_denied', (state) => ({ error: 'access_denied', state })],
    ];
    for (const [name, code, query] of callbacks) {
      it(`callback: ${name} → ${code}, no token request, nothing stored`, async () => {
        serveDiscovery();
        server.route('/token', json(200, { access_token: PLANTED_AT, token_type: 'Bearer' }));
        const { env, tokens } = makeEnv();
        const auth = new ServerAuth(env, `${o}/mcp`, { clientId: 'client-1' });
        await rejectsWithCode(auth.signIn(agent(query)), code, [PLANTED]);
        assert.equal(server.count('/token'), 0);
        assert.deepEqual(await tokens.keys(), []);
      });
    }

    it('registration: a registration answer without client_id → invalid_response, no client and no tokens stored, the browser never opened', async () => {
      serveDiscovery();
      server.route('/register', json(201, { client_secret: PLANTED }));
      const { env, tokens, clients } = makeEnv();
      const auth = new ServerAuth(env, `${o}/mcp`);
      const a = agent((state) => ({ code: PLANTED_CODE, state }));
      await rejectsWithCode(auth.signIn(a), 'invalid_response', [PLANTED]);
      assert.equal(clients.sets, 0);
      assert.deepEqual(await tokens.keys(), []);
      assert.equal(a.calls, 0);
      assert.equal(server.count('/token'), 0);
    });

    it('discovery: an AS without S256 → pkce_unsupported before the browser opens or a client registers', async () => {
      serveDiscovery({ code_challenge_methods_supported: ['plain'] });
      const { env, tokens, clients } = makeEnv();
      const auth = new ServerAuth(env, `${o}/mcp`, { clientId: 'client-1' });
      const a = agent((state) => ({ code: PLANTED_CODE, state }));
      await rejectsWithCode(auth.signIn(a), 'pkce_unsupported');
      assert.equal(a.calls, 0);
      assert.equal(clients.sets, 0);
      assert.deepEqual(await tokens.keys(), []);
    });
  });
});
