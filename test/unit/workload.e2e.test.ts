// Workload identity federation (SEP-1933), end to end against the real peers: the platform's workload JWT (a
// Kubernetes projected service-account token) from a file, read again for every token request, as an RFC 7523
// JWT bearer grant with no client registration and no client authentication; the AS's errors as they are.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { McpOAuthError } from '../../src/oauth/errors';
import { OAuthResponseError } from '../../src/oauth/errors';
import type { AuthOptions } from '../../src/oauth/session/authOptions';
import { startAuthServer } from '../fixtures/authServer';
import { JWT_BEARER } from '../fixtures/jwtAssertions';
import { startDpopMcpServer, type DpopMcpServer } from '../fixtures/dpopMcpServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { startWorkloadAuthServer, type WorkloadAuthServer } from '../fixtures/workloadAuthServer';
import {
  kubernetesServiceAccount,
  startWorkloadIssuer,
  type MintOptions,
  type WorkloadIssuer,
} from '../fixtures/workloadIssuer';
import { connectWithSignIn, coreEnvironment, newServerAuth, ScriptedUser, text } from './support/coreHarness';

const ROUTER = kubernetesServiceAccount('agents', 'router');
const INDEXER = kubernetesServiceAccount('agents', 'indexer');
const READER = kubernetesServiceAccount('agents', 'reader');
const FILE = '/var/run/secrets/tokens/mcp-token';

describe('workload identity federation against real peers', function () {
  let issuer: WorkloadIssuer;
  let as: WorkloadAuthServer;
  let mcp: McpServerFixture;
  /** The "file system" the host reads for the core: the platform writes the token here. */
  const files = new Map<string, string>();
  const reads: string[] = [];

  before(async () => {
    issuer = await startWorkloadIssuer();
    as = await startWorkloadAuthServer({
      trustedIssuers: [issuer.issuer],
      workloads: {
        [ROUTER.sub]: ['mcp:read', 'mcp:write'],
        [INDEXER.sub]: ['mcp:read', 'mcp:write'],
        [READER.sub]: ['mcp:read'],
      },
    });
    mcp = await startSplitDomainServer({ as });
  });
  after(async () => {
    await mcp.close();
    await as.close();
    await issuer.close();
  });
  beforeEach(() => {
    files.clear();
    reads.length = 0;
  });

  /** The platform (re)writes the token file with a fresh JWT for `who`. */
  const rotate = async (who = ROUTER, options: Partial<MintOptions> = {}) => {
    const token = await issuer.mint({ sub: who.sub, audience: as.tokenEndpoint, claims: who.claims, ...options });
    files.set(FILE, `${token}\n`);
    return token;
  };
  const env = () => ({
    ...coreEnvironment(),
    readTextFile: async (path: string) => {
      reads.push(path);
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
  });
  const WORKLOAD: AuthOptions = { flow: 'workloadIdentity', workloadTokenFile: FILE };
  const expire = async (e: ReturnType<typeof env>, key: string) => {
    const stored = (await e.tokens.get(key))!;
    await e.tokens.set(key, { ...stored, expiresAt: Date.now() - 1000 });
  };

  it('gets a token with the workload JWT, with no browser, no client_id and no client authentication, and a tool call works', async () => {
    await rotate();
    const e = env();
    const auth = newServerAuth(e, mcp.url, WORKLOAD);
    const user = new ScriptedUser();
    const grantsBefore = as.grants.length;
    const client = await connectWithSignIn(auth, user);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /system:serviceaccount:agents:router/);
    await client.close();
    assert.equal(user.shown.length, 0, 'no browser');
    // The AS refuses any client authentication (invalid_client, 401) and records a client_id if one is sent.
    assert.deepEqual(as.grants.slice(grantsBefore), [{ grantType: JWT_BEARER, sub: ROUTER.sub }]);
    const tokens = (await e.tokens.get(auth.tokenKey))!;
    assert.equal(tokens.grantType, 'workload_identity');
    assert.equal(tokens.registration, 'none');
    assert.equal(tokens.clientId, ROUTER.sub, 'the workload is the client');
    assert.equal(tokens.refreshToken, undefined);
    assert.equal(decodeJwt(tokens.accessToken).aud, mcp.url, 'resource: the MCP server');
    assert.deepEqual(reads, [FILE]);
  });

  it('reads the file again for every token request, so a rotated token is the one sent', async () => {
    await rotate();
    const e = env();
    const auth = newServerAuth(e, mcp.url, WORKLOAD);
    await auth.signIn(new ScriptedUser());
    await rotate(INDEXER, {}); // the platform rotated the projected token (here: another service account's)
    await expire(e, auth.tokenKey);
    const renewed = decodeJwt(await auth.tokenManager().getAccessToken());
    assert.equal(renewed.sub, INDEXER.sub, 'the new token was read and sent');
    assert.equal(as.grants.at(-1)!.sub, INDEXER.sub);
    assert.deepEqual(reads, [FILE, FILE]);
    assert.equal(auth.tokenManager().status.state, 'valid');
  });

  it('surfaces a JWT that was not rotated (its jti seen before) as invalid_grant, as it is', async () => {
    await rotate();
    const e = env();
    const auth = newServerAuth(e, mcp.url, WORKLOAD);
    await auth.signIn(new ScriptedUser());
    await expire(e, auth.tokenKey);
    const before = as.grants.length;
    await assert.rejects(auth.tokenManager().getAccessToken(), (error: unknown) => {
      assert.ok(error instanceof OAuthResponseError, String(error));
      assert.equal(error.error, 'invalid_grant');
      assert.match(error.message, /workload identity token request failed with "invalid_grant".*jti was used before/);
      return true;
    });
    assert.equal(as.grants.length - before, 1, 'no retry');
    assert.equal(auth.tokenManager().status.state, 'expired');
  });

  for (const [label, prepare, options, error, pattern] of [
    [
      'an expired workload JWT',
      () => rotate(ROUTER, { issuedAt: Math.floor(Date.now() / 1000) - 3600, lifetimeSeconds: 600 }),
      {},
      'invalid_grant',
      /exp/,
    ],
    [
      'a JWT for another audience',
      () => rotate(ROUTER, { audience: 'https://kubernetes.default.svc' }),
      {},
      'invalid_grant',
      /aud/,
    ],
    [
      'a scope the workload may not have',
      () => rotate(READER),
      { scopes: ['mcp:read', 'mcp:write'] },
      'invalid_scope',
      /mcp:write/,
    ],
    [
      'a workload the AS does not know',
      () => rotate(kubernetesServiceAccount('other', 'stranger')),
      {},
      'unauthorized_client',
      /stranger/,
    ],
  ] as const) {
    it(`surfaces ${label} as ${error}: one request, no retry, no other grant, nothing stored`, async () => {
      await prepare();
      const e = env();
      const auth = newServerAuth(e, mcp.url, { ...WORKLOAD, ...options });
      const user = new ScriptedUser();
      const before = as.grants.length;
      await assert.rejects(auth.signIn(user), (thrown: unknown) => {
        assert.ok(thrown instanceof OAuthResponseError, String(thrown));
        assert.equal(thrown.code, 'token_error');
        assert.equal(thrown.error, error);
        assert.match(thrown.message, pattern);
        return true;
      });
      assert.deepEqual(
        as.grants.slice(before).map((g) => [g.grantType, g.error]),
        [[JWT_BEARER, error]],
      );
      assert.equal(user.shown.length, 0, 'no fallback to a browser sign-in');
      assert.equal(await e.tokens.get(auth.tokenKey), undefined);
    });
  }

  it('sends no client authentication even when the settings name a client and a secret is stored', async () => {
    await rotate();
    const e = { ...env(), credentials: { lookup: async () => ({ clientSecret: 'a-stored-secret-value' }) } };
    const before = as.grants.length;
    const tokens = await newServerAuth(e, mcp.url, { ...WORKLOAD, clientId: 'some-client' }).signIn(new ScriptedUser());
    assert.deepEqual(as.grants.slice(before), [{ grantType: JWT_BEARER, sub: ROUTER.sub }]);
    assert.equal(tokens.clientId, ROUTER.sub);
  });

  it('refuses clearly: no token file set, a file that cannot be read, one without a JWT, a host without a reader', async () => {
    const cases: [string, AuthOptions, Partial<ReturnType<typeof env>>, RegExp][] = [
      ['no file', { flow: 'workloadIdentity' }, {}, /auth\.workloadTokenFile/],
      ['missing', WORKLOAD, {}, /Cannot read the workload token file "\/var\/run\/secrets\/tokens\/mcp-token"/],
      ['no reader', WORKLOAD, { readTextFile: undefined }, /cannot read auth\.workloadTokenFile/],
    ];
    for (const [label, options, overrides, pattern] of cases) {
      const before = as.grants.length;
      await assert.rejects(
        newServerAuth({ ...env(), ...overrides }, mcp.url, options).signIn(new ScriptedUser()),
        (e: McpOAuthError) => e.code === 'invalid_config' && pattern.test(e.message),
        label,
      );
      assert.equal(as.grants.length, before, `${label}: nothing sent`);
    }
    files.set(FILE, 'not a jwt, maybe a secret-looking value abcdef0123456789\n');
    await assert.rejects(
      newServerAuth(env(), mcp.url, WORKLOAD).signIn(new ScriptedUser()),
      (e: McpOAuthError) =>
        e.code === 'invalid_config' && /does not hold a JWT/.test(e.message) && !/abcdef/.test(e.message),
    );
  });

  it('refuses early an authorization server that offers no JWT bearer grant', async () => {
    await rotate();
    const other = await startAuthServer({ clients: [] });
    const server = await startSplitDomainServer({ as: other });
    try {
      await assert.rejects(
        newServerAuth(env(), server.url, WORKLOAD).signIn(new ScriptedUser()),
        (e: McpOAuthError) => e.code === 'unsupported_flow' && /JWT bearer grant/.test(e.message),
      );
      assert.equal(other.grants.length, 0);
      assert.deepEqual(reads, [], 'the token file is not even read');
    } finally {
      await server.close();
      await other.close();
    }
  });

  it('repeats in no message or log line the workload JWT an authorization server echoes back', async () => {
    const token = await rotate();
    const e = env();
    const echoing = async (input: string | URL, init?: RequestInit) => {
      const sent = new URLSearchParams(String(init?.body ?? '')).get('assertion');
      if (!sent) return fetch(input, init);
      const forms = [sent, encodeURIComponent(sent), Buffer.from(sent).toString('base64url')].join(' | ');
      const body = { error: 'invalid_grant', error_description: `not trusted: ${forms}` };
      return new Response(JSON.stringify(body), { status: 400, headers: { 'content-type': 'application/json' } });
    };
    const error = await newServerAuth({ ...e, http: { ...e.http, fetch: echoing } }, mcp.url, WORKLOAD)
      .signIn(new ScriptedUser())
      .then(
        () => assert.fail('accepted'),
        (thrown: Error) => thrown,
      );
    assert.match(error.message, /not trusted/);
    for (const line of [error.message, ...e.logger.lines]) {
      assert.ok(!line.includes(token), 'the workload JWT leaked');
      assert.ok(!line.includes(Buffer.from(token).toString('base64url')), 'its base64url form leaked');
    }
  });

  it('never puts the workload JWT or the access token in a message or a log line', async () => {
    const token = await rotate();
    const e = env();
    const auth = newServerAuth(e, mcp.url, WORKLOAD);
    const tokens = await auth.signIn(new ScriptedUser());
    await expire(e, auth.tokenKey); // the same JWT again: refused, and the refusal names no token
    const error = await auth
      .tokenManager()
      .getAccessToken()
      .then(
        () => assert.fail('the replay was accepted'),
        (thrown: Error) => thrown,
      );
    for (const line of [error.message, ...e.logger.lines]) {
      assert.ok(!line.includes(token), 'the workload JWT leaked');
      assert.ok(!line.includes(tokens.accessToken), 'the access token leaked');
    }
  });

  describe('at a server that takes only DPoP-bound tokens (RFC 9449)', () => {
    let dpopAs: WorkloadAuthServer;
    let dpopMcp: DpopMcpServer;
    before(async () => {
      dpopAs = await startWorkloadAuthServer({
        trustedIssuers: [issuer.issuer],
        workloads: { [ROUTER.sub]: ['mcp:read', 'mcp:write'] },
        dpop: true,
      });
      dpopMcp = await startDpopMcpServer({ as: dpopAs });
    });
    after(async () => {
      await dpopMcp.close();
      await dpopAs.close();
    });
    const rotateFor = async () => {
      const token = await issuer.mint({ sub: ROUTER.sub, audience: dpopAs.tokenEndpoint, claims: ROUTER.claims });
      files.set(FILE, `${token}\n`);
    };

    it('sends a proof with the JWT bearer grant, gets a token bound to the key, renews with the same key, and every MCP request carries a proof', async () => {
      await rotateFor();
      const e = env();
      const auth = newServerAuth(e, dpopMcp.url, WORKLOAD);
      const client = await connectWithSignIn(auth, new ScriptedUser());
      assert.match(
        text(await client.callTool({ name: 'whoami', arguments: {} })),
        /system:serviceaccount:agents:router/,
      );
      await client.close();

      const tokens = (await e.tokens.get(auth.tokenKey))!;
      assert.equal(tokens.tokenType, 'DPoP');
      assert.ok(tokens.dpopJkt);
      assert.equal((decodeJwt(tokens.accessToken).cnf as { jkt?: string }).jkt, tokens.dpopJkt);
      assert.equal(dpopAs.grants.at(-1)!.jkt, tokens.dpopJkt, 'the grant request carried a proof with the key');

      await rotateFor();
      await expire(e, auth.tokenKey);
      const renewed = await auth.tokenManager().getTokens();
      assert.notEqual(renewed.accessToken, tokens.accessToken);
      assert.equal(renewed.tokenType, 'DPoP');
      assert.equal(renewed.dpopJkt, tokens.dpopJkt, 'renewed with the same key');
      assert.equal(dpopAs.grants.at(-1)!.jkt, tokens.dpopJkt);

      const presented = dpopMcp.requests.filter((r) => r.scheme !== undefined);
      assert.ok(presented.length > 0);
      assert.deepEqual(new Set(presented.map((r) => `${r.scheme} ${r.outcome}`)), new Set(['DPoP ok']));
    });
  });
});
