// The headless flows end to end against a real oidc-provider and SDK-built MCP servers: device code
// (RFC 8628), client credentials, scope step-up, revocation (RFC 7009), rotation across processes,
// outages during refresh, and token import.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, decodeJwt, type CryptoKey } from 'jose';
import { authorizedFetch } from '../../src/mcp/authorizedFetch';
import { RETRY_LIMITS } from '../../src/mcp/retryPolicy';
import { issuerKey } from '../../src/oauth/session/serverAuth';
import type { DeviceAuthorization } from '../../src/oauth/grants/deviceCode';
import { CancelledError, type McpOAuthError } from '../../src/oauth/errors';
import { FileTokenStore } from '../../src/cli/store/fileTokenStore';
import { fromBundle, toBundle } from '../../src/oauth/tokens/tokenBundle';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSelfHostedAsServer, startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { BASIC_CLIENT, POST_CLIENT, PUBLIC_CLIENT, staticClients } from '../fixtures/testClients';
import { approveAuthorization, approveDevice } from '../fixtures/userAgent';
import {
  connectWithSignIn,
  coreEnvironment,
  deviceSignIn,
  machineSignIn,
  MemoryClientStore,
  newServerAuth,
  ScriptedUser,
  text,
} from './support/coreHarness';
import {
  connectWithTokens,
  DEVICE_GRANT,
  pollRateLimiter,
  startLoopback,
  VirtualClock,
} from './support/headlessHarness';

const isCode = (code: string) => (e: McpOAuthError) => {
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
  return true;
};
const countGrants = (as: AuthServer, grantType: string, error?: string) =>
  as.grants.filter((g) => g.grantType === grantType && (error === undefined ? true : g.error === error)).length;
const registrations = (as: AuthServer) => as.requests.filter((r) => r.method === 'POST' && r.path === '/reg').length;
const invalidGrants = (as: AuthServer) => as.grants.filter((g) => g.error === 'invalid_grant').length;

describe('headless sign-in against real peers', function () {
  let as: AuthServer;
  let split: McpServerFixture;
  let rsa: { privateKey: CryptoKey; kid: string };
  let ec: { privateKey: CryptoKey; kid: string };

  before(async () => {
    const rsaPair = await generateKeyPair('RS256', { extractable: true });
    const ecPair = await generateKeyPair('ES256', { extractable: true });
    rsa = { privateKey: rsaPair.privateKey, kid: 'rsa-key' };
    ec = { privateKey: ecPair.privateKey, kid: 'ec-key' };
    const jwks = {
      keys: [
        { ...(await exportJWK(rsaPair.publicKey)), kid: rsa.kid, alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(ecPair.publicKey)), kid: ec.kid, alg: 'ES256', use: 'sig' },
      ],
    };
    as = await startAuthServer({ clients: staticClients(jwks) });
    split = await startSplitDomainServer({ as });
  });
  after(async () => {
    await split.close();
    await as.close();
  });

  describe('device code (RFC 8628)', () => {
    it('shows the code, polls while the user approves, stores tokens with a refresh token, and whoami works', async () => {
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      let shown: DeviceAuthorization | undefined;
      const clock = new VirtualClock(async (n) => {
        if (n === 2) await approveDevice(shown!.verificationUri, shown!.userCode); // the user types the code while polling goes on
      });
      const pendingBefore = countGrants(as, DEVICE_GRANT, 'authorization_pending');
      const tokens = await deviceSignIn(auth, {
        clock,
        present: (device) => {
          shown = device;
        },
      });
      assert.ok(shown, 'present() was called');
      assert.match(shown.userCode, /\S/);
      assert.equal(new URL(shown.verificationUri).origin, as.issuer);
      assert.ok(
        shown.verificationUriComplete?.includes(encodeURIComponent(shown.userCode)) ||
          shown.verificationUriComplete?.includes(shown.userCode),
      );
      assert.ok(
        countGrants(as, DEVICE_GRANT, 'authorization_pending') - pendingBefore >= 1,
        'the AS was polled before the approval',
      );
      assert.deepEqual(clock.sleeps, [5000, 5000], 'polled at the default 5 s interval, twice');
      assert.ok(tokens.refreshToken, 'a refresh token was issued');
      assert.deepEqual(await env.tokens.get(auth.tokenKey), tokens, 'stored');
      assert.equal(decodeJwt(tokens.accessToken).aud, split.url);

      const client = await connectWithTokens(auth);
      try {
        const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))) as {
          sub: string;
          scopes: string[];
        };
        assert.equal(who.sub, 'alice');
        assert.ok(who.scopes.includes('mcp:read'));
      } finally {
        await client.close();
      }
    });

    it('refuses a denied device sign-in with authorization_denied and stores nothing', async () => {
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      let shown: DeviceAuthorization | undefined;
      const clock = new VirtualClock(async (n) => {
        if (n === 1) await approveDevice(shown!.verificationUriComplete!, undefined, { deny: true });
      });
      const deniedBefore = countGrants(as, DEVICE_GRANT, 'access_denied');
      await assert.rejects(
        deviceSignIn(auth, {
          clock,
          present: (d) => {
            shown = d;
          },
        }),
        isCode('authorization_denied'),
      );
      assert.equal(countGrants(as, DEVICE_GRANT, 'access_denied') - deniedBefore, 1, 'the AS answered access_denied');
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
    });

    it('gives up with device_code_expired once the code has expired, after really polling', async () => {
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      let shown: DeviceAuthorization | undefined;
      const polls = () => as.grants.filter((g) => g.grantType === DEVICE_GRANT).length;
      const before = polls();
      const clock = new VirtualClock((n, c) => {
        if (n === 2) c.jump(shown!.expiresAt - c.now() + 1); // nobody approves; time runs out
      });
      await assert.rejects(
        deviceSignIn(auth, {
          clock,
          present: (d) => {
            shown = d;
          },
        }),
        isCode('device_code_expired'),
      );
      assert.equal(polls() - before, 1, 'one real poll before the expiry');
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
    });

    it('slows down by 5 s on slow_down and keeps polling until approved', async () => {
      let shown: DeviceAuthorization | undefined;
      const clock = new VirtualClock(async (n) => {
        if (n === 3) await approveDevice(shown!.verificationUriComplete!);
      });
      const limiter = pollRateLimiter(`${as.issuer}/token`, clock.now, 10_000);
      const env = coreEnvironment();
      const auth = newServerAuth({ ...env, http: { ...env.http, fetch: limiter.fetch } }, split.url);
      const tokens = await deviceSignIn(auth, {
        clock,
        present: (d) => {
          shown = d;
        },
      });
      assert.ok(tokens.accessToken);
      assert.equal(limiter.answered.slowDown, 1, 'one slow_down');
      assert.deepEqual(clock.sleeps, [5000, 5000, 10_000], 'the interval grew by 5 s after slow_down');
      assert.equal(limiter.answered.forwarded, 2, 'the other polls reached the real AS');
    });

    it('stops with CancelledError when the signal aborts, and stores nothing', async () => {
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      const controller = new AbortController();
      const clock = new VirtualClock((n) => {
        if (n === 2) controller.abort();
      });
      await assert.rejects(
        deviceSignIn(auth, { clock, signal: controller.signal, present: () => undefined }),
        (e: McpOAuthError) => {
          assert.ok(e instanceof CancelledError);
          return isCode('cancelled')(e);
        },
      );
      assert.equal(clock.sleeps.length, 2);
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
    });

    it('works with the pre-registered public client, registering nothing', async () => {
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url, { clientId: PUBLIC_CLIENT.client_id });
      const before = registrations(as);
      const clock = new VirtualClock(async (n) => {
        if (n === 1) await approveDevice(shown!.verificationUriComplete!);
      });
      let shown: DeviceAuthorization | undefined;
      const tokens = await deviceSignIn(auth, {
        clock,
        present: (d) => {
          shown = d;
        },
      });
      assert.equal(tokens.clientId, PUBLIC_CLIENT.client_id);
      assert.equal(registrations(as) - before, 0, 'no request at /reg');
      assert.equal((env.clients as MemoryClientStore).entries.size, 0);
      const refreshed = await auth.tokenManager().forceRefresh(tokens.accessToken);
      assert.notEqual(refreshed.accessToken, tokens.accessToken, 'the refresh token works');
    });

    it('registers a client for the device grant through DCR', async () => {
      const base = coreEnvironment();
      const sent: { grant_types: string[]; redirect_uris?: string[] }[] = [];
      const env = {
        ...base,
        http: {
          ...base.http,
          fetch: (input: string | URL, init?: RequestInit) => {
            if (String(input) === `${as.issuer}/reg`)
              sent.push(JSON.parse(String(init?.body)) as (typeof sent)[number]);
            return globalThis.fetch(input, init);
          },
        },
      };
      const auth = newServerAuth(env, split.url);
      const before = registrations(as);
      let shown: DeviceAuthorization | undefined;
      const clock = new VirtualClock(async (n) => {
        if (n === 1) await approveDevice(shown!.verificationUriComplete!);
      });
      const tokens = await deviceSignIn(auth, {
        clock,
        present: (d) => {
          shown = d;
        },
      });
      assert.equal(registrations(as) - before, 1, 'registered once');
      assert.equal(sent.length, 1);
      assert.deepEqual(
        [...sent[0]!.grant_types].sort(),
        [DEVICE_GRANT, 'refresh_token'].sort(),
        'the registration asked for the device_code grant',
      );
      // oidc-provider issues device codes only to clients registered for that grant: the sign-in proves it took.
      const registration = (await base.clients.get(as.issuer))!;
      assert.equal(tokens.clientId, registration.clientId);
      assert.ok(registration.grantTypes.includes(DEVICE_GRANT));
      assert.ok(tokens.refreshToken);
    });

    it('refuses with unsupported_flow, naming the flows left, when the AS has no device endpoint', async () => {
      const server = await startSelfHostedAsServer();
      try {
        const env = coreEnvironment();
        const auth = newServerAuth(env, server.url);
        assert.equal((await auth.discover()).authServer.device_authorization_endpoint, undefined);
        await assert.rejects(
          deviceSignIn(auth, { clock: new VirtualClock(), present: () => assert.fail('nothing to show') }),
          (e: McpOAuthError) => {
            isCode('unsupported_flow')(e);
            assert.match(e.message, /device/);
            assert.match(e.message, /browser/, 'names the browser (authorization code) flow');
            return true;
          },
        );
        assert.equal(
          server.requests.filter((r) => r.path === '/register').length,
          0,
          'no client registered for a flow the AS lacks',
        );
      } finally {
        await server.close();
      }
    });
  });

  describe('client credentials', () => {
    const cases = [
      ['client_secret_basic', BASIC_CLIENT.client_id, () => ({ clientSecret: BASIC_CLIENT.client_secret as string })],
      ['client_secret_post', POST_CLIENT.client_id, () => ({ clientSecret: POST_CLIENT.client_secret as string })],
      ['private_key_jwt (RS256)', 'static-jwt', () => ({ privateKey: { key: rsa.privateKey, kid: rsa.kid } })],
      ['private_key_jwt (ES256)', 'static-jwt', () => ({ privateKey: { key: ec.privateKey, kid: ec.kid } })],
    ] as const;
    for (const [label, clientId, credentials] of cases) {
      it(`gets a token with ${label} that works against whoami, and renews by running the grant again`, async () => {
        let clock = Date.now();
        const base = coreEnvironment({ credentials: credentials(), now: () => clock });
        const sent: URLSearchParams[] = [];
        const env = {
          ...base,
          http: {
            ...base.http,
            fetch: (input: string | URL, init?: RequestInit) => {
              if (String(input) === `${as.issuer}/token`) sent.push(new URLSearchParams(String(init?.body)));
              return globalThis.fetch(input, init);
            },
          },
        };
        const method = label.startsWith('private_key_jwt')
          ? ('private_key_jwt' as const)
          : (label as 'client_secret_basic' | 'client_secret_post');
        const auth = newServerAuth(env, split.url, { clientId, tokenEndpointAuthMethod: method, scopes: ['mcp:read'] });
        const before = countGrants(as, 'client_credentials');
        const tokens = await machineSignIn(auth);
        assert.equal(countGrants(as, 'client_credentials') - before, 1);
        assert.equal(
          sent[0]!.get('scope'),
          'mcp:read',
          'the configured scope, and no offline_access: this grant has no refresh token',
        );
        assert.equal(sent[0]!.get('resource'), split.url);
        assert.equal(tokens.grantType, 'client_credentials');
        assert.equal(tokens.refreshToken, undefined);
        assert.ok(tokens.scopes.includes('mcp:read'));
        const claims = decodeJwt(tokens.accessToken);
        assert.equal(claims.aud, split.url, 'issued for the server (RFC 8707 resource)');
        assert.equal(claims.client_id, clientId);

        const client = await connectWithTokens(auth);
        try {
          const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))) as {
            clientId: string;
            scopes: string[];
          };
          assert.equal(who.clientId, clientId);
          assert.deepEqual(who.scopes, ['mcp:read']);
        } finally {
          await client.close();
        }

        const forced = await auth.tokenManager().forceRefresh(tokens.accessToken);
        assert.equal(countGrants(as, 'client_credentials') - before, 2, 'forceRefresh ran the grant again');
        assert.notEqual(forced.accessToken, tokens.accessToken);
        clock = forced.expiresAt! + 1; // expired: the next use renews by itself
        const renewed = await auth.tokenManager().getTokens();
        assert.equal(countGrants(as, 'client_credentials') - before, 3, 'an expired token is renewed with a new grant');
        assert.notEqual(renewed.accessToken, forced.accessToken);
        assert.equal(renewed.grantType, 'client_credentials');
      });
    }
  });

  describe('scope step-up', () => {
    it('re-authorizes with the union of the scopes on 403 insufficient_scope, never widening through the refresh token', async () => {
      const env = coreEnvironment();
      const user = new ScriptedUser();
      const auth = newServerAuth(env, split.url);
      const client = await connectWithSignIn(auth, user);
      try {
        assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /mcp:read/);
        assert.ok((await env.tokens.get(auth.tokenKey))?.refreshToken, 'a refresh token is stored');
        assert.equal(user.shown.length, 1);
        const refreshesBefore = countGrants(as, 'refresh_token');
        const result = await client.callTool({ name: 'admin_action', arguments: {} });
        assert.equal(text(result), 'admin action done for alice');
        assert.equal(user.shown.length, 2, 'one more authorization request');
        const scope = user.shown[1]!.searchParams.get('scope')!.split(' ');
        assert.ok(scope.includes('mcp:read') && scope.includes('mcp:write'), `asked ${scope.join(' ')}`);
        assert.equal(
          countGrants(as, 'refresh_token') - refreshesBefore,
          0,
          'no refresh_token grant tried to widen the scope',
        );
        const stored = (await env.tokens.get(auth.tokenKey))!;
        assert.ok(stored.scopes.includes('mcp:write') && stored.scopes.includes('mcp:read'));
      } finally {
        await client.close();
      }
    });

    const limitedRegistration = async () => {
      const response = await fetch(`${as.issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'limited',
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          redirect_uris: [`http://127.0.0.1/callback/${issuerKey(as.issuer)}`],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          scope: 'mcp:read offline_access',
        }),
      });
      assert.equal(response.status, 201);
      const body = (await response.json()) as { client_id: string; scope?: string };
      assert.equal(body.scope, 'mcp:read offline_access');
      return body;
    };

    for (const withScope of [true, false]) {
      it(`registers again when the DCR registration limits the scopes${withScope ? '' : ' without saying so'}, and the step-up succeeds`, async () => {
        const limited = await limitedRegistration();
        // The fixture really limits that client: mcp:write is refused to it.
        const refused = await approveAuthorization(
          `${as.issuer}/auth?${new URLSearchParams({
            client_id: limited.client_id,
            response_type: 'code',
            redirect_uri: `http://127.0.0.1/callback/${issuerKey(as.issuer)}`,
            scope: 'mcp:read mcp:write',
            code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
            code_challenge_method: 'S256',
            state: 's',
            resource: split.url,
          })}`,
        );
        assert.equal(refused.searchParams.get('error'), 'invalid_scope');

        const clients = new MemoryClientStore();
        await clients.set(as.issuer, {
          issuer: as.issuer,
          clientId: limited.client_id,
          method: 'dcr',
          tokenEndpointAuthMethod: 'none',
          redirectUris: [`http://127.0.0.1/callback/${issuerKey(as.issuer)}`],
          grantTypes: ['authorization_code', 'refresh_token'],
          registeredAt: Date.now(),
          ...(withScope ? { scope: limited.scope! } : {}),
        });
        const env = coreEnvironment({ clients });
        const user = new ScriptedUser();
        const auth = newServerAuth(env, split.url);
        const before = registrations(as);
        const client = await connectWithSignIn(auth, user);
        try {
          assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /mcp:read/);
          assert.equal(
            user.shown[0]!.searchParams.get('client_id'),
            limited.client_id,
            'the stored registration was used first',
          );
          assert.equal(registrations(as) - before, 0);
          assert.equal(
            text(await client.callTool({ name: 'admin_action', arguments: {} })),
            'admin action done for alice',
          );
        } finally {
          await client.close();
        }
        assert.equal(registrations(as) - before, 1, 'registered anew');
        const now = (await clients.get(as.issuer))!;
        assert.notEqual(now.clientId, limited.client_id);
        assert.equal(user.shown.at(-1)!.searchParams.get('client_id'), now.clientId);
        assert.equal((await env.tokens.get(auth.tokenKey))!.clientId, now.clientId);
      });
    }

    it('gives up after maxStepUps when the server keeps answering 403 insufficient_scope', async () => {
      const greedy = await startLoopback((_req, res) => {
        res.writeHead(403, {
          'www-authenticate': 'Bearer error="insufficient_scope", scope="mcp:read mcp:write"',
          'content-type': 'application/json',
        });
        res.end('{"error":"insufficient_scope"}');
      });
      try {
        const env = coreEnvironment();
        const user = new ScriptedUser();
        const auth = newServerAuth(env, split.url);
        await auth.signIn(user);
        const shownBefore = user.shown.length;
        const hitsBefore = greedy.hits.length;
        const authorizeBefore = as.requests.filter((r) => r.path === '/auth').length;
        let signIns = 0;
        const fetch = authorizedFetch({
          fetch: globalThis.fetch,
          tokens: auth.tokenManager(),
          signIn: async (challenge, stepUp) => {
            signIns++;
            await auth.signIn(user, {
              ...(challenge ? { challenge } : {}),
              ...(stepUp ? { extraScopes: challenge?.scopes ?? [], stepUp } : {}),
            });
          },
        });
        const response = await fetch(`${greedy.origin}/mcp`, { method: 'POST', body: '{}' });
        assert.equal(response.status, 403, 'the last 403 is handed back');
        const expected = RETRY_LIMITS.stepUp;
        assert.equal(signIns, expected, `re-authorized ${expected} times`);
        assert.equal(user.shown.length - shownBefore, expected);
        assert.equal(
          user.questions.filter((q) => q.kind === 'stepUp').length,
          expected,
          'each step-up confirmed first',
        );
        assert.equal(
          as.requests.filter((r) => r.path === '/auth').length - authorizeBefore,
          expected,
          'authorization requests at the AS',
        );
        assert.equal(greedy.hits.length - hitsBefore, expected + 1, 'the request was sent once plus once per step-up');
      } finally {
        await greedy.close();
      }
    });
  });

  describe('sign-out and revocation (RFC 7009)', () => {
    it('revokes the refresh token at the AS and deletes the tokens', async () => {
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      const tokens = await auth.signIn(new ScriptedUser());
      assert.equal((await as.introspect(tokens.refreshToken!)).active, true);
      const result = await auth.signOut();
      assert.equal(result.wasSignedIn, true);
      assert.equal(result.refreshToken, 'revoked');
      assert.equal(
        (await as.introspect(tokens.refreshToken!)).active,
        false,
        'the AS no longer honours the refresh token',
      );
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assert.equal((await auth.signOut()).wasSignedIn, false);
      await assert.rejects(auth.tokenManager().getAccessToken(), isCode('not_signed_in'));
    });

    it('deletes locally and reports the failure when the AS is down', async () => {
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      const tokens = await auth.signIn(new ScriptedUser());
      as.setFault('down');
      let result;
      try {
        result = await auth.signOut();
      } finally {
        as.setFault(undefined);
      }
      assert.equal(result.wasSignedIn, true);
      assert.equal(result.refreshToken, 'failed');
      assert.ok(result.reason, 'says why');
      assert.ok(!result.reason.includes(tokens.refreshToken!));
      assert.equal(await env.tokens.get(auth.tokenKey), undefined, 'deleted locally anyway');
      assert.equal((await as.introspect(tokens.refreshToken!)).active, true, 'still active at the AS, as reported');
    });

    it('reports not_supported when the AS publishes no revocation endpoint', async () => {
      // The same AS, its metadata published without revocation_endpoint (as many deployments do).
      const mirror = await startLoopback((_req, res) => {
        void fetch(as.metadataUrl).then(async (response) => {
          const metadata = (await response.json()) as Record<string, unknown>;
          delete metadata.revocation_endpoint;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata));
        });
      });
      try {
        const env = coreEnvironment();
        const auth = newServerAuth(env, split.url, { authorizationServerMetadataUrl: `${mirror.origin}/metadata` });
        const tokens = await auth.signIn(new ScriptedUser());
        assert.equal(tokens.revocationEndpoint, undefined);
        const revocations = as.requests.filter((r) => r.path.startsWith('/token/revocation')).length;
        const result = await auth.signOut();
        assert.equal(result.refreshToken, 'not_supported');
        assert.equal(result.accessToken, 'not_supported');
        assert.ok(result.reason);
        assert.equal(
          as.requests.filter((r) => r.path.startsWith('/token/revocation')).length,
          revocations,
          'no revocation request',
        );
        assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      } finally {
        await mirror.close();
      }
    });
  });

  describe('refresh token rotation across two processes sharing one token file', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-rotation-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('uses the refresh token the other process rotated: no invalid_grant, and the session survives', async () => {
      const file = path.join(dir, 'tokens.json');
      const clients = new MemoryClientStore();
      let offsetB = 0;
      const envA = coreEnvironment({ tokens: new FileTokenStore(file), clients });
      const envB = coreEnvironment({ tokens: new FileTokenStore(file), clients, now: () => Date.now() + offsetB });
      const a = newServerAuth(envA, split.url);
      const b = newServerAuth(envB, split.url);
      const first = await a.signIn(new ScriptedUser());
      assert.equal(await b.tokenManager().getAccessToken(), first.accessToken, 'B sees what A stored');
      const invalidBefore = invalidGrants(as);

      const rotated = await a.tokenManager().forceRefresh(first.accessToken);
      assert.ok(rotated.refreshToken && rotated.refreshToken !== first.refreshToken, 'A rotated the refresh token');
      offsetB = rotated.expiresAt! - Date.now() + 1; // B's copy now looks expired to B
      const fromB = await b.tokenManager().getTokens();
      assert.notEqual(fromB.accessToken, rotated.accessToken, 'B refreshed');
      assert.equal(invalidGrants(as) - invalidBefore, 0, 'B used the rotated refresh token');
      assert.equal(b.tokenManager().status.state, 'valid');
      offsetB = 0;

      for (let i = 0; i < 20; i++) {
        const manager = (i % 2 === 0 ? a : b).tokenManager();
        await manager.forceRefresh();
      }
      // And the same, all at once.
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).tokenManager().forceRefresh()));
      assert.equal(invalidGrants(as) - invalidBefore, 0, 'no invalid_grant in 40 alternating refreshes');
      assert.equal(a.tokenManager().status.state, 'valid');
      assert.equal(b.tokenManager().status.state, 'valid');

      const client = await connectWithTokens(a);
      try {
        assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      } finally {
        await client.close();
      }
      const last = (await envA.tokens.get(a.tokenKey))!;
      assert.equal((await as.introspect(last.refreshToken!)).active, true, 'the session is alive at the AS');
    });
  });

  describe('authorization server outage during refresh', () => {
    for (const fault of ['500', 'down', 'slow'] as const) {
      it(`keeps the valid token as stale on '${fault}', and recovers once the AS is back`, async () => {
        const outageAs = await startAuthServer({ slowMs: 1500 });
        const server = await startSplitDomainServer({ as: outageAs });
        try {
          const base = coreEnvironment();
          const env = { ...base, http: { ...base.http, timeoutMs: 500 } };
          const auth = newServerAuth(env, server.url);
          const tokens = await auth.signIn(new ScriptedUser());
          const manager = auth.tokenManager();
          outageAs.setFault(fault, ['/token']);
          let kept;
          try {
            kept = await manager.forceRefresh(tokens.accessToken);
          } finally {
            outageAs.setFault(undefined);
          }
          assert.equal(kept.accessToken, tokens.accessToken, 'the current token is kept');
          assert.equal(manager.status.state, 'stale');
          assert.ok(manager.status.error?.code, 'with an error code');
          assert.equal(
            manager.status.error.code,
            fault === 'slow' ? 'timeout' : fault === 'down' ? 'network_error' : 'refresh_failed',
          );
          assert.equal(await manager.getAccessToken(), tokens.accessToken, 'still usable');
          assert.equal(manager.status.state, 'stale');

          const recovered = await manager.forceRefresh(tokens.accessToken);
          assert.notEqual(recovered.accessToken, tokens.accessToken);
          assert.equal(manager.status.state, 'valid');
          assert.equal(manager.status.error, undefined);
        } finally {
          await server.close();
          await outageAs.close();
        }
      });
    }
  });

  describe('token import', () => {
    it('imports an exported bundle for the same server, and its refresh token keeps working', async () => {
      const exporter = coreEnvironment();
      const source = newServerAuth(exporter, split.url);
      const tokens = await source.signIn(new ScriptedUser());
      const bundle = JSON.stringify(toBundle(split.url, tokens));

      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      const imported = fromBundle(bundle, split.url, env.now());
      assert.equal(imported.accessToken, tokens.accessToken);
      assert.equal(imported.refreshToken, tokens.refreshToken);
      await env.tokens.set(auth.tokenKey, imported);
      const refreshesBefore = countGrants(as, 'refresh_token');
      const refreshed = await auth.tokenManager().forceRefresh(imported.accessToken);
      assert.equal(countGrants(as, 'refresh_token') - refreshesBefore, 1, 'a real refresh at the AS');
      assert.notEqual(refreshed.accessToken, imported.accessToken);
      assert.equal(auth.tokenManager().status.state, 'valid');
      const client = await connectWithTokens(auth);
      try {
        assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      } finally {
        await client.close();
      }
    });

    it('refuses an expired bundle without refresh token, one for another server, and malformed JSON', async () => {
      const other = await startSplitDomainServer({ as });
      try {
        const tokens = await newServerAuth(coreEnvironment(), split.url).signIn(new ScriptedUser());
        const bundle = toBundle(split.url, tokens);
        const { refreshToken: _dropped, ...withoutRefresh } = bundle;
        const later = tokens.expiresAt! + 1000;
        assert.doesNotThrow(
          () => fromBundle(JSON.stringify(withoutRefresh), split.url, Date.now()),
          'fine while it lasts',
        );
        assert.throws(() => fromBundle(JSON.stringify(withoutRefresh), split.url, later), isCode('invalid_bundle'));
        const expiredEarly = { ...withoutRefresh, expiresAt: new Date(Date.now() - 1000).toISOString() };
        assert.throws(() => fromBundle(JSON.stringify(expiredEarly), split.url, Date.now()), isCode('invalid_bundle'));

        assert.throws(() => fromBundle(JSON.stringify(bundle), other.url, Date.now()), isCode('invalid_bundle'));
        // Relabelled for the other server: the JWT's aud still names the first one.
        const relabelled = { ...bundle, serverUrl: other.url, resource: other.url };
        assert.throws(
          () => fromBundle(JSON.stringify(relabelled), other.url, Date.now()),
          (e: McpOAuthError) => isCode('invalid_bundle')(e) && /aud/.test(e.message),
        );

        for (const text of ['{', '', 'null', '[]', JSON.stringify({ ...bundle, type: 'something-else' })]) {
          assert.throws(() => fromBundle(text, split.url, Date.now()), isCode('invalid_bundle'), text);
        }
        for (const secret of [tokens.accessToken, tokens.refreshToken!]) {
          try {
            fromBundle(JSON.stringify(relabelled), other.url, Date.now());
          } catch (error) {
            assert.ok(!(error as Error).message.includes(secret));
          }
        }
      } finally {
        await other.close();
      }
    });
  });
});
