// Enterprise-managed authorization (SEP-990), end to end against the real peers: the user signs in to the
// enterprise IdP once (OpenID Connect, through the host's receiver), each MCP server's token comes from an RFC
// 8693 exchange of the ID token for an ID-JAG redeemed as an RFC 7523 JWT bearer grant, and renewals run the
// exchange again without the user while the IdP session can be renewed.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { McpOAuthError, OAuthResponseError } from '../../src/oauth/errors';
import type { FetchLike } from '../../src/oauth/http/policyFetch';
import type { CredentialRequest } from '../../src/oauth/session/host';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { startAuthServer } from '../fixtures/authServer';
import { IDP_CLIENT, TOKEN_EXCHANGE } from '../fixtures/enterpriseIdp';
import { AS_CLIENT, startIdJagAuthServer } from '../fixtures/idJagAuthServer';
import { JWT_BEARER } from '../fixtures/jwtAssertions';
import { startDpopMcpServer } from '../fixtures/dpopMcpServer';
import { startSplitDomainServer } from '../fixtures/mcpServers';
import { connectWithSignIn, newServerAuth, ScriptedUser, text } from './support/coreHarness';
import {
  AS_SECRET,
  ENTERPRISE_AUTH,
  enterpriseEnvironment,
  IDP_BASIC_CLIENT,
  IDP_SECRET,
  startEnterprisePeers,
  type EnterprisePeers,
} from './support/enterpriseHarness';

describe('enterprise-managed authorization (ID-JAG) against real peers', function () {
  let peers: EnterprisePeers;

  before(async () => {
    peers = await startEnterprisePeers(3);
  });
  after(async () => {
    await peers.close();
  });
  afterEach(() => {
    peers.asClock.ms = 0;
    peers.idp.setFault(undefined);
  });

  const exchanges = () => peers.idp.grants.filter((g) => g.grantType === TOKEN_EXCHANGE);
  const idpRefreshes = () => peers.idp.grants.filter((g) => g.grantType === 'refresh_token');
  const idpSignIns = () => peers.idp.requests.filter((r) => r.method === 'GET' && r.path === '/auth');
  const bearerGrants = () => peers.as.grants.filter((g) => g.grantType === JWT_BEARER);
  const url = (i: number) => peers.servers[i]!.url;

  /** An environment, and a ServerAuth for each MCP server, all sharing one IdentityProvider. */
  const setUp = (options: Parameters<typeof enterpriseEnvironment>[1] = {}) => {
    const env = enterpriseEnvironment(peers.idp, options);
    const auths = peers.servers.map((s) => newServerAuth(env, s.url, ENTERPRISE_AUTH));
    return { env, auths };
  };
  /** Makes the stored session of `auth` (or the IdP's) look expired to the token manager. */
  const expire = async (env: ReturnType<typeof setUp>['env'], key: string) => {
    const stored = (await env.tokens.get(key))!;
    await env.tokens.set(key, { ...stored, expiresAt: Date.now() - 1000 });
  };
  const noPrompt = () =>
    new ScriptedUser(undefined, {}, { present: () => assert.fail('a device code was shown') }).withSignal(
      new AbortController().signal,
    );

  it('signs in to the IdP once, exchanges the ID token for an ID-JAG, redeems it, and a tool call works', async () => {
    const { env, auths } = setUp();
    const user = new ScriptedUser();
    const [issuedBefore, acceptedBefore] = [peers.idp.issued.length, peers.as.accepted.length];
    const client = await connectWithSignIn(auths[0]!, user);
    const whoami = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))) as { sub: string };
    assert.equal(whoami.sub, 'alice');
    await client.close();

    assert.equal(user.shown.length, 1, 'one browser sign-in, at the IdP');
    const authorization = user.shown[0]!;
    assert.equal(authorization.origin, peers.idp.issuer);
    assert.equal(authorization.searchParams.get('client_id'), IDP_BASIC_CLIENT.client_id);
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.deepEqual(authorization.searchParams.get('scope')!.split(' ').sort(), [
      'email',
      'offline_access',
      'openid',
      'profile',
    ]);

    const idJag = peers.idp.issued.at(-1)!;
    assert.equal(peers.idp.issued.length, issuedBefore + 1, 'one ID-JAG');
    assert.equal(idJag.header.typ, 'oauth-id-jag+jwt');
    assert.equal(idJag.claims.aud, peers.as.issuer, "audience: the MCP server's AS");
    assert.equal(idJag.claims.resource, url(0), "resource: the protected resource metadata's");
    assert.equal(idJag.claims.client_id, AS_CLIENT.client_id);
    assert.equal(idJag.claims.scope, 'mcp:read');
    assert.equal(peers.as.accepted.length, acceptedBefore + 1);

    const tokens = (await env.tokens.get(auths[0]!.tokenKey))!;
    assert.equal(tokens.grantType, 'id_jag');
    assert.equal(tokens.issuer, peers.as.issuer);
    assert.equal(tokens.clientId, AS_CLIENT.client_id);
    assert.equal(tokens.refreshToken, undefined, 'no refresh token: renewals get a new ID-JAG');
    assert.equal(decodeJwt(tokens.accessToken).aud, url(0));
    const session = (await env.tokens.get(env.identityProvider.key))!;
    assert.ok(session.idToken && session.refreshToken, 'the IdP session keeps the ID token and refresh token');
    assert.equal(session.issuer, peers.idp.issuer);
    assert.equal(session.expiresAt, (decodeJwt(session.idToken).exp as number) * 1000, 'expires with its ID token');

    const log = env.logger.lines.join('\n');
    for (const secret of [tokens.accessToken, session.idToken, session.refreshToken, session.accessToken, AS_SECRET]) {
      assert.ok(!log.includes(secret), 'a secret reached the log');
    }
  });

  it('signs in to a second and third server without the browser: the IdP session serves them all', async () => {
    const { auths } = setUp();
    await auths[0]!.signIn(new ScriptedUser());
    const signInsBefore = idpSignIns().length;
    const user = new ScriptedUser();
    const [b, c] = await Promise.all([auths[1]!.signIn(user), auths[2]!.signIn(user)]);
    assert.equal(user.shown.length, 0, 'no browser');
    assert.equal(idpSignIns().length, signInsBefore);
    assert.equal(decodeJwt(b.accessToken).aud, url(1));
    assert.equal(decodeJwt(c.accessToken).aud, url(2));
  });

  it('exchanges again, silently, when the MCP access token expires', async () => {
    const { env, auths } = setUp();
    const first = await auths[0]!.signIn(new ScriptedUser());
    const [exchangesBefore, grantsBefore] = [exchanges().length, bearerGrants().length];
    await expire(env, auths[0]!.tokenKey);
    const client = await connectWithSignIn(auths[0]!, noPrompt());
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
    await client.close();
    const renewed = (await env.tokens.get(auths[0]!.tokenKey))!;
    assert.notEqual(renewed.accessToken, first.accessToken);
    assert.equal(exchanges().length, exchangesBefore + 1, 'one new token exchange');
    assert.equal(bearerGrants().length, grantsBefore + 1, 'one new JWT bearer grant');
    assert.equal(auths[0]!.tokenManager().status.state, 'valid');
    const [before, after] = peers.as.accepted.slice(-2);
    assert.notEqual(before!.jti, after!.jti, 'a new ID-JAG, never the old one again');
  });

  it('renews the ID token with the IdP refresh token first, once for several servers renewing at once', async () => {
    const { env, auths } = setUp();
    await auths[0]!.signIn(new ScriptedUser());
    await Promise.all([auths[1]!.signIn(noPrompt()), auths[2]!.signIn(noPrompt())]);
    const idTokenBefore = (await env.tokens.get(env.identityProvider.key))!.idToken;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // ID tokens of the same second are the same
    await expire(env, env.identityProvider.key);
    for (const auth of auths) await expire(env, auth.tokenKey);
    const [refreshesBefore, exchangesBefore] = [idpRefreshes().length, exchanges().length];

    const tokens = await Promise.all(auths.map((auth) => auth.tokenManager().getAccessToken()));
    assert.equal(new Set(tokens).size, 3);
    assert.equal(idpRefreshes().length - refreshesBefore, 1, 'one IdP refresh for the three servers');
    assert.equal(exchanges().length - exchangesBefore, 3, 'one exchange per server');
    const session = (await env.tokens.get(env.identityProvider.key))!;
    assert.notEqual(session.idToken, idTokenBefore, 'a new ID token');
    assert.ok(session.expiresAt! > Date.now() + 60_000, 'good for a while');
  });

  it('fails background renewals with not_signed_in naming the IdP once its session expired, then asks once for all servers', async () => {
    const { env, auths } = setUp();
    await auths[0]!.signIn(new ScriptedUser());
    await Promise.all([auths[1]!.signIn(noPrompt()), auths[2]!.signIn(noPrompt())]);
    // The IdP ends the session: its refresh token is revoked, and the ID token is due.
    const session = (await env.tokens.get(env.identityProvider.key))!;
    const revoked = await fetch(`${peers.idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${IDP_BASIC_CLIENT.client_id}:${IDP_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: session.refreshToken!, token_type_hint: 'refresh_token' }),
    });
    assert.equal(revoked.status, 200);
    await expire(env, env.identityProvider.key);
    for (const auth of auths) await expire(env, auth.tokenKey);
    const signInsBefore = idpSignIns().length;

    for (const auth of auths) {
      await assert.rejects(auth.tokenManager().getAccessToken(), (e: McpOAuthError) => {
        assert.equal(e.code, 'not_signed_in');
        assert.match(e.message, new RegExp(`identity provider ${new URL(peers.idp.issuer).host.replace('.', '\\.')}`));
        return true;
      });
      assert.equal(auth.tokenManager().status.state, 'expired');
    }
    assert.equal(idpSignIns().length, signInsBefore, 'a background renewal never signs in');

    const user = new ScriptedUser();
    const renewed = await Promise.all(auths.map((auth) => auth.signIn(user)));
    assert.equal(user.shown.length, 1, 'one IdP sign-in for the three servers');
    assert.equal(user.shown[0]!.origin, peers.idp.issuer);
    assert.equal(idpSignIns().length, signInsBefore + 1);
    renewed.forEach((tokens, i) => assert.equal(decodeJwt(tokens.accessToken).aud, url(i)));
  });

  it('asks for the client secrets only inside an interactive sign-in, keeps them, and never in a renewal', async () => {
    const saved = new Map<string, string>();
    const store = (prefix: string) => ({
      lookup: async (registration: { clientId: string }) => {
        const secret = saved.get(`${prefix}${registration.clientId}`);
        return secret ? { clientSecret: secret } : {};
      },
      save: async (
        registration: { clientId: string },
        answer: { clientSecret: string } | { privateKeyPem: string },
      ) => {
        if ('clientSecret' in answer) saved.set(`${prefix}${registration.clientId}`, answer.clientSecret);
      },
    });
    const env = enterpriseEnvironment(peers.idp, { idpCredentialStore: store('idp:') });
    const auth = newServerAuth({ ...env, credentials: store('as:') }, url(0), ENTERPRISE_AUTH);
    class User extends ScriptedUser {
      override async askCredentials(request: CredentialRequest) {
        this.asked.push(request);
        return { clientSecret: request.identityProvider ? IDP_SECRET : AS_SECRET };
      }
    }
    const user = new User();
    await auth.signIn(user);
    assert.deepEqual(
      user.asked.map((r) => [r.clientId, r.method, r.identityProvider]),
      [
        [AS_CLIENT.client_id, 'client_secret_basic', undefined],
        [IDP_BASIC_CLIENT.client_id, 'client_secret_basic', peers.idp.issuer],
      ],
    );
    assert.equal(saved.get(`as:${AS_CLIENT.client_id}`), AS_SECRET);
    assert.equal(saved.get(`idp:${IDP_BASIC_CLIENT.client_id}`), IDP_SECRET);
    // A renewal with the IdP secret gone: nobody is asked, and it says what to do.
    saved.delete(`idp:${IDP_BASIC_CLIENT.client_id}`);
    await expire(env, auth.tokenKey);
    await assert.rejects(auth.tokenManager().getAccessToken(), (e: McpOAuthError) => {
      assert.equal(e.code, 'not_signed_in');
      assert.match(e.message, /client secret of "enterprise-mcp-client-basic" at the identity provider/);
      return true;
    });
    assert.equal(user.asked.length, 2);
  });

  it('never sends the user to the IdP when its client secret is missing and not given', async () => {
    const env = enterpriseEnvironment(peers.idp, { idpCredentials: {} });
    class User extends ScriptedUser {
      override async askCredentials(request: CredentialRequest) {
        this.asked.push(request);
        return undefined;
      }
    }
    const user = new User();
    await assert.rejects(
      newServerAuth(env, url(0), ENTERPRISE_AUTH).signIn(user),
      (e: McpOAuthError) =>
        e.code === 'invalid_config' && /at the identity provider .* needs its client secret/.test(e.message),
    );
    assert.equal(user.asked.length, 1);
    assert.equal(user.shown.length, 0, 'no browser');
  });

  it('authenticates at the IdP with client_secret_post when configured so (or when its metadata offers only that)', async () => {
    const env = enterpriseEnvironment(peers.idp, {
      idp: { clientId: IDP_CLIENT.client_id, tokenEndpointAuthMethod: 'client_secret_post' },
      idpCredentials: { clientSecret: IDP_CLIENT.client_secret as string },
    });
    const tokens = await newServerAuth(env, url(0), ENTERPRISE_AUTH).signIn(new ScriptedUser());
    assert.equal(decodeJwt(tokens.accessToken).sub, 'alice');
    assert.equal((await env.tokens.get(env.identityProvider.key))!.clientId, IDP_CLIENT.client_id);
  });

  it('uses authorization_grant_profiles_supported when present: works when it lists the ID-JAG profile', async () => {
    const advertising = await startIdJagAuthServer({ idp: peers.idp, advertiseProfile: true });
    const server = await startSplitDomainServer({ as: advertising });
    try {
      peers.idp.connect({
        clientId: IDP_BASIC_CLIENT.client_id,
        audience: advertising.issuer,
        resources: [server.url],
        targetClientId: AS_CLIENT.client_id,
      });
      const tokens = await newServerAuth(enterpriseEnvironment(peers.idp), server.url, ENTERPRISE_AUTH).signIn(
        new ScriptedUser(),
      );
      assert.equal(tokens.issuer, advertising.issuer);
    } finally {
      await server.close();
      await advertising.close();
    }
  });

  it('redeems the ID-JAG with a DPoP proof at a server that takes only DPoP-bound tokens, and renews with the same key', async () => {
    const dpopAs = await startIdJagAuthServer({ idp: peers.idp });
    const server = await startDpopMcpServer({ as: dpopAs });
    try {
      peers.idp.connect({
        clientId: IDP_BASIC_CLIENT.client_id,
        audience: dpopAs.issuer,
        resources: [server.url],
        targetClientId: AS_CLIENT.client_id,
      });
      const env = enterpriseEnvironment(peers.idp);
      const auth = newServerAuth(env, server.url, ENTERPRISE_AUTH);
      const client = await connectWithSignIn(auth, new ScriptedUser());
      assert.equal(JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))).sub, 'alice');
      await client.close();

      const tokens = (await env.tokens.get(auth.tokenKey))!;
      assert.equal(tokens.grantType, 'id_jag');
      assert.equal(tokens.tokenType, 'DPoP');
      assert.equal((decodeJwt(tokens.accessToken).cnf as { jkt?: string }).jkt, tokens.dpopJkt);
      await env.tokens.set(auth.tokenKey, { ...tokens, expiresAt: Date.now() - 1000 });
      const renewed = await auth.tokenManager().getTokens();
      assert.notEqual(renewed.accessToken, tokens.accessToken, 'a new ID-JAG, redeemed again');
      assert.equal(renewed.dpopJkt, tokens.dpopJkt, 'with the same key');
      const grants = dpopAs.grants.filter((g) => g.grantType === JWT_BEARER);
      assert.deepEqual(
        grants.map((g) => [g.dpop, g.tokenType]),
        [
          [true, 'DPoP'],
          [true, 'DPoP'],
        ],
      );
      const presented = server.requests.filter((r) => r.scheme !== undefined);
      assert.deepEqual(new Set(presented.map((r) => `${r.scheme} ${r.outcome}`)), new Set(['DPoP ok']));
    } finally {
      await server.close();
      await dpopAs.close();
    }
  });

  for (const [label, metadata, pattern] of [
    [
      'lists grant profiles without the ID-JAG one',
      { authorization_grant_profiles_supported: ['urn:example:grant-profile:other'] },
      /ID-JAG profile/,
    ],
    ['offers no JWT bearer grant', {}, /JWT bearer grant/],
  ] as const) {
    it(`refuses early, before the IdP is asked, an authorization server that ${label}`, async () => {
      const other =
        'authorization_grant_profiles_supported' in metadata
          ? await startIdJagAuthServer({ idp: peers.idp, metadata })
          : await startAuthServer({ clients: [] });
      const server = await startSplitDomainServer({ as: other });
      try {
        const before = peers.idp.requests.length;
        const user = new ScriptedUser();
        await assert.rejects(
          newServerAuth(enterpriseEnvironment(peers.idp), server.url, ENTERPRISE_AUTH).signIn(user),
          (e: McpOAuthError) => e.code === 'unsupported_flow' && pattern.test(e.message),
        );
        assert.equal(peers.idp.requests.length, before, 'nothing sent to the IdP');
        assert.equal(user.shown.length, 0);
        assert.equal(other.grants.length, 0);
      } finally {
        await server.close();
        await other.close();
      }
    });
  }

  describe('failures, surfaced as they are', () => {
    it('a wrong audience: the IdP refuses the exchange (invalid_target) and the AS is never asked', async () => {
      const stranger = await startIdJagAuthServer({ idp: peers.idp });
      const server = await startSplitDomainServer({ as: stranger });
      try {
        const env = enterpriseEnvironment(peers.idp);
        await newServerAuth(env, url(0), ENTERPRISE_AUTH).signIn(new ScriptedUser()); // the IdP session
        const auth = newServerAuth(env, server.url, ENTERPRISE_AUTH);
        await assert.rejects(auth.signIn(new ScriptedUser()), (e: unknown) => {
          assert.ok(e instanceof OAuthResponseError, String(e));
          assert.equal(e.code, 'token_error');
          assert.equal(e.error, 'invalid_target');
          assert.match(e.message, /token exchange at the identity provider/);
          return true;
        });
        assert.equal(stranger.grants.length, 0, 'no JWT bearer request');
        assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      } finally {
        await server.close();
        await stranger.close();
      }
    });

    it('an expired ID-JAG: the AS refuses it (invalid_grant), with no retry and no other grant', async () => {
      const { env, auths } = setUp();
      await auths[0]!.signIn(new ScriptedUser());
      peers.asClock.ms = 10 * 60_000; // the AS's clock is past the ID-JAG's five minutes
      const [exchangesBefore, grantsBefore] = [exchanges().length, peers.as.grants.length];
      await expire(env, auths[0]!.tokenKey);
      await assert.rejects(auths[0]!.tokenManager().getAccessToken(), (e: unknown) => {
        assert.ok(e instanceof OAuthResponseError, String(e));
        assert.equal(e.error, 'invalid_grant');
        assert.match(e.message, /exp/);
        return true;
      });
      assert.equal(exchanges().length - exchangesBefore, 1);
      assert.deepEqual(
        peers.as.grants.slice(grantsBefore).map((g) => [g.grantType, g.error]),
        [[JWT_BEARER, 'invalid_grant']],
        'one JWT bearer request, nothing else',
      );
      assert.equal(auths[0]!.tokenManager().status.state, 'expired');
    });

    it('an IdP that is down: a still-valid token is kept (stale); an expired one fails with the network error', async () => {
      const { env, auths } = setUp();
      const first = await auths[0]!.signIn(new ScriptedUser());
      peers.idp.setFault('down');
      // Inside the refresh margin but not yet expired: kept while the IdP is away.
      const stored = (await env.tokens.get(auths[0]!.tokenKey))!;
      await env.tokens.set(auths[0]!.tokenKey, { ...stored, expiresAt: Date.now() + 10_000 });
      assert.equal(await auths[0]!.tokenManager().getAccessToken(), first.accessToken);
      assert.equal(auths[0]!.tokenManager().status.state, 'stale');
      await expire(env, auths[0]!.tokenKey);
      await assert.rejects(
        auths[0]!.tokenManager().getAccessToken(),
        (e: McpOAuthError) => e.name === 'HttpRequestError' && e.code === 'network_error',
      );
      // An interactive sign-in says the same, and never opens the browser for it.
      const user = new ScriptedUser();
      await assert.rejects(auths[1]!.signIn(user), (e: McpOAuthError) => e.code === 'network_error');
      assert.equal(user.shown.length, 0);
    });

    it('a denied user: the IdP refuses the exchange for policy (invalid_request), and nothing is stored', async () => {
      peers.idp.denyUser('mallory');
      const env = enterpriseEnvironment(peers.idp);
      const auth = newServerAuth(env, url(0), ENTERPRISE_AUTH);
      const grantsBefore = bearerGrants().length;
      await assert.rejects(auth.signIn(new ScriptedUser(undefined, { login: 'mallory' })), (e: unknown) => {
        assert.ok(e instanceof OAuthResponseError, String(e));
        assert.equal(e.error, 'invalid_request');
        assert.match(e.message, /policy does not let mallory/);
        return true;
      });
      assert.equal(bearerGrants().length, grantsBefore, 'the AS is never asked');
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assert.ok((await env.tokens.get(env.identityProvider.key))?.idToken, "mallory's IdP session itself stands");
    });

    it('a replayed ID-JAG: the AS refuses it (invalid_grant, jti used before), and it is not tried again', async () => {
      // An IdP that answers every exchange with the first ID-JAG it issued (a cache gone wrong).
      let first: { status: number; body: string } | undefined;
      const replaying: FetchLike = async (input, init) => {
        const response = await fetch(input, init);
        if (String(input) !== `${peers.idp.issuer}/token` || !String(init?.body).includes('token-exchange'))
          return response;
        first ??= { status: response.status, body: await response.text() };
        return new Response(first.body, { status: first.status, headers: { 'content-type': 'application/json' } });
      };
      const shared = enterpriseEnvironment(peers.idp, { fetch: replaying });
      const auth = newServerAuth(shared, url(0), ENTERPRISE_AUTH);
      await auth.signIn(new ScriptedUser());
      await expire(shared, auth.tokenKey);
      const grantsBefore = peers.as.grants.length;
      await assert.rejects(auth.tokenManager().getAccessToken(), (e: unknown) => {
        assert.ok(e instanceof OAuthResponseError, String(e));
        assert.equal(e.error, 'invalid_grant');
        assert.match(e.message, /jti was used before/);
        return true;
      });
      assert.deepEqual(
        peers.as.grants.slice(grantsBefore).map((g) => [g.grantType, g.error]),
        [[JWT_BEARER, 'invalid_grant']],
      );
    });
  });

  for (const [step, param] of [
    ['the token exchange at the IdP (the ID token)', 'subject_token'],
    ['the JWT bearer request at the AS (the ID-JAG)', 'assertion'],
  ] as const) {
    it(`repeats in no message or log line what ${step} sent, whatever form the peer echoes it in`, async () => {
      const echoed: string[] = [];
      const echoing: FetchLike = async (input, init) => {
        const sent = new URLSearchParams(String(init?.body ?? '')).get(param);
        if (!sent) return fetch(input, init);
        echoed.push(sent);
        const forms = [sent, encodeURIComponent(sent), Buffer.from(sent).toString('base64url')];
        const body = { error: 'invalid_grant', error_description: `refused: ${forms.join(' | ')}` };
        return new Response(JSON.stringify(body), { status: 400, headers: { 'content-type': 'application/json' } });
      };
      const env = enterpriseEnvironment(peers.idp, { fetch: echoing });
      const error = await newServerAuth(env, url(0), ENTERPRISE_AUTH)
        .signIn(new ScriptedUser())
        .then(
          () => assert.fail('the sign-in succeeded'),
          (thrown: Error) => thrown,
        );
      assert.equal(echoed.length, 1, 'the peer echoed it');
      const texts = [error.message, ...env.logger.lines];
      for (let cause = (error as { cause?: unknown }).cause; cause instanceof McpOAuthError; cause = cause.cause)
        texts.push(cause.message);
      for (const text of texts) {
        assert.ok(!text.includes(echoed[0]!), `the secret in: ${text.slice(0, 80)}`);
        assert.ok(!text.includes(Buffer.from(echoed[0]!).toString('base64url')), 'its base64url form');
      }
      assert.match(error.message, /refused/, 'the rest of the description is kept');
    });
  }

  it('refuses an exchange answer that is no ID-JAG, and never sends it to the AS', async () => {
    const relabelling: FetchLike = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input) !== `${peers.idp.issuer}/token` || !String(init?.body).includes('token-exchange'))
        return response;
      const body = {
        ...((await response.json()) as object),
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      };
      return new Response(JSON.stringify(body), {
        status: response.status,
        headers: { 'content-type': 'application/json' },
      });
    };
    const env = enterpriseEnvironment(peers.idp, { fetch: relabelling });
    const grantsBefore = bearerGrants().length;
    await assert.rejects(
      newServerAuth(env, url(0), ENTERPRISE_AUTH).signIn(new ScriptedUser()),
      (e: McpOAuthError) =>
        e.code === 'invalid_token_response' && /"issued_token_type" .*access_token.*not an ID-JAG/.test(e.message),
    );
    assert.equal(bearerGrants().length, grantsBefore);
  });

  it('ignores a stored IdP session of another client or IdP, and signs in again', async () => {
    const { env, auths } = setUp();
    await auths[0]!.signIn(new ScriptedUser());
    const session = (await env.tokens.get(env.identityProvider.key))!;
    await env.tokens.set(env.identityProvider.key, { ...session, clientId: 'another-client' });
    await expire(env, auths[0]!.tokenKey);
    await assert.rejects(auths[0]!.tokenManager().getAccessToken(), (e: McpOAuthError) => e.code === 'not_signed_in');
    const user = new ScriptedUser();
    await auths[0]!.signIn(user);
    assert.equal(user.shown.length, 1, 'signed in again');
    assert.equal((await env.tokens.get(env.identityProvider.key))!.clientId, IDP_BASIC_CLIENT.client_id);
  });

  it('refuses clearly without an IdP, without a client at the AS, and with a public one', async () => {
    const { identityProvider: _none, ...noIdp } = enterpriseEnvironment(peers.idp);
    await assert.rejects(
      newServerAuth(noIdp, url(0), ENTERPRISE_AUTH).signIn(new ScriptedUser()),
      (e: McpOAuthError) => e.code === 'invalid_config' && /mcpOAuth\.enterpriseIdp/.test(e.message),
    );
    const env = enterpriseEnvironment(peers.idp);
    await assert.rejects(
      newServerAuth(env, url(0), { flow: 'enterpriseManaged' }).signIn(new ScriptedUser()),
      (e: McpOAuthError) => e.code === 'invalid_config' && /auth\.clientId/.test(e.message),
    );
    await assert.rejects(
      newServerAuth(env, url(0), { ...ENTERPRISE_AUTH, tokenEndpointAuthMethod: 'none' }).signIn(new ScriptedUser()),
      (e: McpOAuthError) => e.code === 'invalid_config' && /confidential client/.test(e.message),
    );
  });

  it('takes the ID token from a file instead of a session (read again for every exchange)', async () => {
    const files = new Map<string, string>();
    const signInToIdp = async (login: string) => {
      const env = enterpriseEnvironment(peers.idp);
      await newServerAuth(env, url(0), ENTERPRISE_AUTH).signIn(new ScriptedUser(undefined, { login }));
      return (await env.tokens.get(env.identityProvider.key))!.idToken!;
    };
    files.set('/id-token', await signInToIdp('alice'));
    const env = enterpriseEnvironment(peers.idp, {
      idp: { idTokenFile: '/id-token' },
      readTextFile: async (path) => {
        const text = files.get(path);
        if (text === undefined) throw new Error('ENOENT');
        return `${text}\n`;
      },
    });
    const auth = newServerAuth(env, url(1), ENTERPRISE_AUTH);
    const user = new ScriptedUser();
    const tokens = await auth.signIn(user);
    assert.equal(user.shown.length, 0, 'no browser');
    assert.equal(decodeJwt(tokens.accessToken).sub, 'alice');
    assert.equal(await env.tokens.get(env.identityProvider.key), undefined, 'no IdP session of its own');
    files.set('/id-token', await signInToIdp('bob'));
    await expire(env, auth.tokenKey);
    assert.equal(decodeJwt(await auth.tokenManager().getAccessToken()).sub, 'bob', 'the file was read again');
    files.delete('/id-token');
    await expire(env, auth.tokenKey);
    await assert.rejects(
      auth.tokenManager().getAccessToken(),
      (e: McpOAuthError) => e.code === 'invalid_config' && /Cannot read the ID token file "\/id-token"/.test(e.message),
    );
  });

  it('signs out of a server (revoking its token at the AS) and keeps the IdP session; signs out of the IdP too', async () => {
    const { env, auths } = setUp();
    await auths[0]!.signIn(new ScriptedUser());
    const result = await auths[0]!.signOut();
    assert.ok(result.wasSignedIn, 'was signed in');
    assert.equal(await env.tokens.get(auths[0]!.tokenKey), undefined);
    const session = (await env.tokens.get(env.identityProvider.key))!;
    assert.ok(session, 'the IdP session stays');
    const out = await env.identityProvider.signOut();
    assert.equal(out.refreshToken, 'revoked');
    assert.equal(await env.tokens.get(env.identityProvider.key), undefined);
    const introspected = await peers.idp.introspect(session.refreshToken!);
    assert.equal(introspected.active, false, 'the IdP refresh token is revoked');
    // The next sign-in signs in to the IdP again.
    const user = new ScriptedUser();
    await auths[1]!.signIn(user);
    assert.equal(user.shown.length, 1);
  });

  it('keeps what the exchange sent and got out of every message and log line', async () => {
    const { env, auths } = setUp();
    const seen: TokenSet[] = [];
    await auths[0]!.signIn(new ScriptedUser());
    seen.push((await env.tokens.get(auths[0]!.tokenKey))!, (await env.tokens.get(env.identityProvider.key))!);
    peers.asClock.ms = 10 * 60_000;
    await expire(env, auths[0]!.tokenKey);
    const error = await auths[0]!
      .tokenManager()
      .getAccessToken()
      .then(
        () => assert.fail('expected a failure'),
        (e: Error) => e,
      );
    const texts = [error.message, String((error as { cause?: Error }).cause?.message ?? ''), ...env.logger.lines];
    for (const tokens of seen) {
      for (const secret of [tokens.accessToken, tokens.refreshToken, tokens.idToken]) {
        if (secret) for (const t of texts) assert.ok(!t.includes(secret), 'a token reached a message or the log');
      }
    }
  });
});
