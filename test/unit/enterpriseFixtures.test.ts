// The enterprise-managed authorization peers (SEP-990): the IdP's token exchange to an ID-JAG, and the MCP
// server's AS redeeming ID-JAGs with the jwt-bearer grant.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from 'jose';
import type { ClientMetadata } from 'oidc-provider';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  IDP_CLIENT,
  ID_JAG_TYP,
  startEnterpriseIdp,
  TOKEN_EXCHANGE,
  TOKEN_TYPES,
  type EnterpriseIdp,
} from '../fixtures/enterpriseIdp';
import { AS_CLIENT, ID_JAG_PROFILE, startIdJagAuthServer, type IdJagAuthServer } from '../fixtures/idJagAuthServer';
import { JWT_BEARER } from '../fixtures/jwtAssertions';
import { listenOnLoopback, type LoopbackServer } from '../fixtures/loopback';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { fetchMetadata, signIn } from '../fixtures/signIn';

type Params = Record<string, string | string[] | undefined>;

/** A form POST; `undefined` values are left out and arrays repeat the parameter. */
async function postForm(url: string, params: Params, headers: Record<string, string> = {}) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of value === undefined ? [] : Array.isArray(value) ? value : [value]) body.append(name, item);
  }
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const basic = (clientId: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
});

const idpClient = (clientId: string, method = 'client_secret_post'): ClientMetadata => ({
  ...IDP_CLIENT,
  client_id: clientId,
  token_endpoint_auth_method: method,
  client_secret: method === 'none' ? undefined : `${clientId}-secret`,
});

const asClient = (clientId: string, method: string, extra: Partial<ClientMetadata> = {}): ClientMetadata => ({
  ...AS_CLIENT,
  client_id: clientId,
  token_endpoint_auth_method: method,
  client_secret: method.startsWith('client_secret') ? `${clientId}-secret` : undefined,
  ...extra,
});

describe('enterprise-managed authorization test peers', function () {
  let idp: EnterpriseIdp;
  let as: IdJagAuthServer;
  let mcp: McpServerFixture;
  let idpClock = 0;
  let asClock = 0;
  let jwtClientKey: CryptoKey;
  /** alice's ID token for IDP_CLIENT, and her refresh token. */
  let sso: { id_token?: string; refresh_token?: string };

  const signInAt = (clientId = IDP_CLIENT.client_id, login = 'alice', secret = `${clientId}-secret`) =>
    signIn({
      metadataUrl: idp.metadataUrl,
      clientId,
      clientSecret: clientId === IDP_CLIENT.client_id ? IDP_CLIENT.client_secret : secret,
      scope: 'openid offline_access email',
      user: { login },
    });

  before(async function () {
    idp = await startEnterpriseIdp({
      clients: [IDP_CLIENT, idpClient('other-at-idp'), idpClient('public-at-idp', 'none')],
      now: () => Date.now() + idpClock,
    });
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    jwtClientKey = privateKey;
    as = await startIdJagAuthServer({
      idp,
      now: () => Date.now() + asClock,
      clients: [
        AS_CLIENT,
        asClient('jag-post', 'client_secret_post'),
        asClient('jag-jwt', 'private_key_jwt', { jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256' }] } }),
        asClient('jag-public', 'none'),
      ],
    });
    mcp = await startSplitDomainServer({ as });
    idp.connect({
      clientId: IDP_CLIENT.client_id,
      audience: as.issuer,
      resources: [mcp.url],
      targetClientId: AS_CLIENT.client_id,
    });
    sso = await signInAt();
  });
  after(async function () {
    await mcp.close();
    await as.close();
    await idp.close();
  });
  afterEach(function () {
    idpClock = 0;
    asClock = 0;
  });

  /** A token exchange by IDP_CLIENT for an ID-JAG for the MCP server; `params` override or (undefined) drop. */
  const exchange = (
    params: Params = {},
    auth: Params = { client_id: IDP_CLIENT.client_id, client_secret: IDP_CLIENT.client_secret as string },
  ) =>
    postForm(`${idp.issuer}/token`, {
      grant_type: TOKEN_EXCHANGE,
      requested_token_type: TOKEN_TYPES.idJag,
      audience: as.issuer,
      resource: mcp.url,
      scope: 'mcp:read',
      subject_token: sso.id_token,
      subject_token_type: TOKEN_TYPES.idToken,
      ...auth,
      ...params,
    });
  const idJag = async (params: Params = {}) => {
    const { status, body } = await exchange(params);
    assert.equal(status, 200, JSON.stringify(body));
    return String(body.access_token);
  };
  /** Redeems `assertion` at the MCP server's AS as AS_CLIENT (client_secret_basic). */
  const redeem = (
    assertion: string | undefined,
    params: Params = {},
    headers: Record<string, string> = basic(AS_CLIENT.client_id, AS_CLIENT.client_secret as string),
  ) => postForm(`${as.issuer}/token`, { grant_type: JWT_BEARER, assertion, ...params }, headers);

  describe('enterprise IdP', function () {
    it('signs the user in (auth code + PKCE: ID token and refresh token) and advertises the exchange', async function () {
      const metadata = (await fetchMetadata(idp.metadataUrl)) as unknown as Record<string, string[]>;
      assert.ok(metadata.grant_types_supported!.includes(TOKEN_EXCHANGE));
      assert.deepEqual(metadata.identity_chaining_requested_token_types_supported, [TOKEN_TYPES.idJag]);
      assert.ok(sso.refresh_token);
      const { payload } = await jwtVerify(sso.id_token!, createRemoteJWKSet(new URL(idp.jwksUri)), {
        issuer: idp.issuer,
        audience: IDP_CLIENT.client_id,
      });
      assert.equal(payload.sub, 'alice');
    });

    it('exchanges the ID token for an ID-JAG for the MCP server AS (draft §4.3.4)', async function () {
      const { status, body } = await exchange();
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(
        { ...body, access_token: undefined },
        {
          issued_token_type: TOKEN_TYPES.idJag,
          access_token: undefined,
          token_type: 'N_A',
          scope: 'mcp:read',
          expires_in: 300,
        },
      );
      const jag = String(body.access_token);
      const { payload, protectedHeader } = await jwtVerify(jag, createRemoteJWKSet(new URL(idp.jwksUri)), {
        issuer: idp.issuer,
        audience: as.issuer,
        typ: ID_JAG_TYP,
      });
      assert.equal(protectedHeader.typ, 'oauth-id-jag+jwt');
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.client_id, AS_CLIENT.client_id);
      assert.equal(payload.resource, mcp.url);
      assert.equal(payload.scope, 'mcp:read');
      assert.equal(payload.email, 'alice@example.test');
      assert.equal(payload.exp! - payload.iat!, 300);
      assert.ok(payload.jti);
      assert.deepEqual(idp.issued.at(-1)!.claims, payload);
    });

    it('narrows the scopes to what the policy allows, and refuses when none is left', async function () {
      assert.equal((await exchange({ scope: 'mcp:read admin:all' })).body.scope, 'mcp:read');
      assert.equal(decodeJwt(await idJag({ scope: undefined })).scope, 'mcp:read mcp:write');
      const none = await exchange({ scope: 'admin:all' });
      assert.equal(none.body.error, 'invalid_scope');
    });

    it('refuses every malformed or unacceptable exchange with the RFC 8693 §2.2.2 error', async function () {
      const stranger = await startEnterpriseIdp();
      const otherClientIdToken = (await signInAt('other-at-idp')).id_token;
      const malloryIdToken = (await signInAt(IDP_CLIENT.client_id, 'mallory')).id_token;
      idp.denyUser('mallory');
      try {
        const foreignIdToken = (
          await signIn({
            metadataUrl: stranger.metadataUrl,
            clientId: IDP_CLIENT.client_id,
            clientSecret: IDP_CLIENT.client_secret as string,
            scope: 'openid',
          })
        ).id_token;
        const cases: [string, () => ReturnType<typeof exchange>, string, RegExp?][] = [
          ['no client secret', () => exchange({}, { client_id: IDP_CLIENT.client_id }), 'invalid_client'],
          [
            'a public client',
            () => exchange({}, { client_id: 'public-at-idp' }),
            'unauthorized_client',
            /confidential/,
          ],
          [
            'no requested_token_type',
            () => exchange({ requested_token_type: undefined }),
            'invalid_request',
            /requested_token_type/,
          ],
          [
            'an access token requested',
            () => exchange({ requested_token_type: 'urn:ietf:params:oauth:token-type:access_token' }),
            'invalid_request',
            /requested_token_type/,
          ],
          [
            'a SAML subject',
            () => exchange({ subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }),
            'invalid_request',
            /not supported/,
          ],
          [
            'a refresh token subject',
            () => exchange({ subject_token: sso.refresh_token, subject_token_type: TOKEN_TYPES.refreshToken }),
            'invalid_request',
            /not supported/,
          ],
          ['no subject_token', () => exchange({ subject_token: undefined }), 'invalid_request', /subject_token/],
          [
            'a garbage subject',
            () => exchange({ subject_token: 'garbage' }),
            'invalid_request',
            /not a valid ID token/,
          ],
          [
            'an ID token of another client',
            () => exchange({ subject_token: otherClientIdToken }),
            'invalid_request',
            /aud/,
          ],
          [
            'an ID token of another IdP',
            () => exchange({ subject_token: foreignIdToken }),
            'invalid_request',
            /not a valid ID token/,
          ],
          [
            'an ID-JAG as subject',
            async () => exchange({ subject_token: await idJag() }),
            'invalid_request',
            /not a valid ID token/,
          ],
          [
            'an actor token',
            () => exchange({ actor_token: 'x', actor_token_type: TOKEN_TYPES.idToken }),
            'invalid_request',
            /actor_token/,
          ],
          ['a user the policy denies', () => exchange({ subject_token: malloryIdToken }), 'invalid_request', /policy/],
          [
            'an unknown audience',
            () => exchange({ audience: 'http://127.0.0.1:1' }),
            'invalid_target',
            /may not get ID-JAGs/,
          ],
          [
            'two audiences',
            () => exchange({ audience: [as.issuer, as.issuer] }),
            'invalid_target',
            /exactly one audience/,
          ],
          [
            'a resource of another AS',
            () => exchange({ resource: 'http://127.0.0.1:1/mcp' }),
            'invalid_target',
            /not a resource of/,
          ],
        ];
        for (const [name, attempt, error, description] of cases) {
          const { status, body } = await attempt();
          assert.equal(body.error, error, `${name}: ${JSON.stringify(body)}`);
          assert.ok(status === 400 || (status === 401 && error === 'invalid_client'), name);
          if (description) assert.match(String(body.error_description), description, name);
        }
        idpClock = 2 * 3600_000;
        const expired = await exchange();
        assert.equal(expired.body.error, 'invalid_request');
        assert.match(String(expired.body.error_description), /exp/);
      } finally {
        await stranger.close();
      }
    });

    it('takes its own refresh tokens as the subject when told to', async function () {
      const lenient = await startEnterpriseIdp({
        acceptRefreshTokens: true,
        clients: [IDP_CLIENT, idpClient('other-at-idp')],
      });
      try {
        lenient.connect({
          clientId: IDP_CLIENT.client_id,
          audience: as.issuer,
          resources: [mcp.url],
          targetClientId: AS_CLIENT.client_id,
        });
        const signInHere = (clientId: string) =>
          signIn({
            metadataUrl: lenient.metadataUrl,
            clientId,
            clientSecret:
              clientId === IDP_CLIENT.client_id ? (IDP_CLIENT.client_secret as string) : `${clientId}-secret`,
            scope: 'openid offline_access',
          });
        const own = (await signInHere(IDP_CLIENT.client_id)).refresh_token;
        const others = (await signInHere('other-at-idp')).refresh_token;
        const withSubject = (subject_token: string | undefined) =>
          postForm(`${lenient.issuer}/token`, {
            grant_type: TOKEN_EXCHANGE,
            requested_token_type: TOKEN_TYPES.idJag,
            audience: as.issuer,
            resource: mcp.url,
            subject_token,
            subject_token_type: TOKEN_TYPES.refreshToken,
            client_id: IDP_CLIENT.client_id,
            client_secret: IDP_CLIENT.client_secret as string,
          });
        const ok = await withSubject(own);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(decodeJwt(String(ok.body.access_token)).sub, 'alice');
        assert.match(String((await withSubject(others)).body.error_description), /another client/);
        assert.match(String((await withSubject('garbage')).body.error_description), /not an active refresh token/);
      } finally {
        await lenient.close();
      }
    });
  });

  describe('MCP server authorization server', function () {
    it('advertises jwt-bearer, and authorization_grant_profiles_supported only when asked', async function () {
      const metadata = (await fetchMetadata(as.metadataUrl)) as unknown as Record<string, unknown>;
      assert.ok((metadata.grant_types_supported as string[]).includes(JWT_BEARER));
      assert.equal(metadata.authorization_grant_profiles_supported, undefined);
      const advertising = await startIdJagAuthServer({ idp, advertiseProfile: true });
      try {
        const advertised = (await fetchMetadata(advertising.metadataUrl)) as unknown as Record<string, unknown>;
        assert.deepEqual(advertised.authorization_grant_profiles_supported, [ID_JAG_PROFILE]);
      } finally {
        await advertising.close();
      }
    });

    it('redeems an ID-JAG for a Bearer JWT access token (no refresh token) that the MCP server takes', async function () {
      const { status, body } = await redeem(await idJag());
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'mcp:read');
      assert.equal(body.expires_in, 300);
      assert.equal(body.refresh_token, undefined);
      const { payload } = await jwtVerify(String(body.access_token), createRemoteJWKSet(new URL(as.jwksUri)), {
        issuer: as.issuer,
        audience: mcp.url,
        typ: 'at+jwt',
      });
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.client_id, AS_CLIENT.client_id);

      const client = new Client({ name: 'fixture-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcp.url), {
          requestInit: { headers: { authorization: `Bearer ${String(body.access_token)}` } },
        }),
      );
      const whoami = await client.callTool({ name: 'whoami' });
      assert.equal(JSON.parse((whoami.content as { text: string }[])[0]!.text).sub, 'alice');
      await client.close();
      assert.equal(as.grants.at(-1)!.grantType, JWT_BEARER);
    });

    it('authenticates the client with client_secret_post or private_key_jwt too', async function () {
      idp.connect({
        clientId: IDP_CLIENT.client_id,
        audience: as.issuer,
        resources: [mcp.url],
        targetClientId: 'jag-post',
      });
      const post = await redeem(await idJag(), { client_id: 'jag-post', client_secret: 'jag-post-secret' }, {});
      assert.equal(post.status, 200, JSON.stringify(post.body));

      idp.connect({
        clientId: IDP_CLIENT.client_id,
        audience: as.issuer,
        resources: [mcp.url],
        targetClientId: 'jag-jwt',
      });
      const clientAssertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('jag-jwt')
        .setSubject('jag-jwt')
        .setAudience(as.issuer)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(jwtClientKey);
      const jwt = await redeem(
        await idJag(),
        {
          client_id: 'jag-jwt',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        },
        {},
      );
      assert.equal(jwt.status, 200, JSON.stringify(jwt.body));
      idp.connect({
        clientId: IDP_CLIENT.client_id,
        audience: as.issuer,
        resources: [mcp.url],
        targetClientId: AS_CLIENT.client_id,
      });
    });

    it('takes ID-JAGs from a confidential client registered with DCR (SEP-990 §5)', async function () {
      const registration = await fetch(`${as.issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_types: [JWT_BEARER],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
        }),
      });
      const client = (await registration.json()) as { client_id: string; client_secret: string };
      assert.equal(registration.status, 201, JSON.stringify(client));
      const connection = { clientId: IDP_CLIENT.client_id, audience: as.issuer, resources: [mcp.url] };
      idp.connect({ ...connection, targetClientId: client.client_id });
      try {
        const redeemed = await redeem(await idJag(), {}, basic(client.client_id, client.client_secret));
        assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
      } finally {
        idp.connect({ ...connection, targetClientId: AS_CLIENT.client_id });
      }
    });

    it('refuses ID-JAGs that are replayed, expired, for another client or AS, or not ID-JAGs', async function () {
      const other = await startEnterpriseIdp();
      try {
        other.connect({
          clientId: IDP_CLIENT.client_id,
          audience: as.issuer,
          resources: [mcp.url],
          targetClientId: AS_CLIENT.client_id,
        });
        const fromOther = (
          await postForm(`${other.issuer}/token`, {
            grant_type: TOKEN_EXCHANGE,
            requested_token_type: TOKEN_TYPES.idJag,
            audience: as.issuer,
            resource: mcp.url,
            subject_token: (
              await signIn({
                metadataUrl: other.metadataUrl,
                clientId: IDP_CLIENT.client_id,
                clientSecret: IDP_CLIENT.client_secret as string,
                scope: 'openid',
              })
            ).id_token,
            subject_token_type: TOKEN_TYPES.idToken,
            client_id: IDP_CLIENT.client_id,
            client_secret: IDP_CLIENT.client_secret as string,
          })
        ).body.access_token as string;
        idp.connect({
          clientId: IDP_CLIENT.client_id,
          audience: 'http://127.0.0.1:1',
          resources: [mcp.url],
          targetClientId: AS_CLIENT.client_id,
        });
        const forAnotherAs = await idJag({ audience: 'http://127.0.0.1:1' });
        const once = await idJag();
        assert.equal((await redeem(once)).status, 200);
        const forged = await new SignJWT({ ...decodeJwt(await idJag()), jti: randomUUID() })
          .setProtectedHeader({ ...decodeProtectedHeader(once), alg: 'ES256' })
          .sign((await generateKeyPair('ES256')).privateKey);

        const cases: [string, () => Promise<{ status: number; body: Record<string, unknown> }>, string, RegExp][] = [
          ['no assertion', () => redeem(undefined), 'invalid_request', /assertion is required/],
          [
            'a public client',
            async () => redeem(await idJag(), { client_id: 'jag-public' }, {}),
            'unauthorized_client',
            /confidential/,
          ],
          [
            'a wrong secret',
            async () => redeem(await idJag(), {}, basic(AS_CLIENT.client_id, 'nope')),
            'invalid_client',
            /./,
          ],
          ['a replayed ID-JAG', () => redeem(once), 'invalid_grant', /jti was used before/],
          [
            'an ID-JAG for another client',
            async () => redeem(await idJag(), { client_id: 'jag-post', client_secret: 'jag-post-secret' }, {}),
            'invalid_grant',
            /another client/,
          ],
          ['an ID-JAG for another AS', () => redeem(forAnotherAs), 'invalid_grant', /aud/],
          ['an ID-JAG from an untrusted IdP', () => redeem(fromOther), 'invalid_grant', /not trusted/],
          ['a forged signature', () => redeem(forged), 'invalid_grant', /assertion invalid/],
          ['an ID token', () => redeem(sso.id_token), 'invalid_grant', /typ/],
          ['garbage', () => redeem('garbage'), 'invalid_grant', /not a JWT/],
        ];
        for (const [name, attempt, error, description] of cases) {
          const { body } = await attempt();
          assert.equal(body.error, error, `${name}: ${JSON.stringify(body)}`);
          assert.match(String(body.error_description), description, name);
        }
        const stale = await idJag();
        asClock = 10 * 60_000;
        const expired = await redeem(stale);
        assert.equal(expired.body.error, 'invalid_grant');
        assert.match(String(expired.body.error_description), /exp/);
      } finally {
        await other.close();
      }
    });

    describe('against an IdP whose key the test holds', function () {
      let keys: LoopbackServer;
      let signingKey: CryptoKey;
      let strictAs: IdJagAuthServer;
      const kid = 'hand-made';

      before(async function () {
        const pair = await generateKeyPair('RS256');
        signingKey = pair.privateKey;
        const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256' }] });
        keys = await listenOnLoopback((_req, res) =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
        );
        strictAs = await startIdJagAuthServer({ idp: { issuer: keys.origin, jwksUri: `${keys.origin}/jwks` } });
      });
      after(async function () {
        await strictAs.close();
        await keys.close();
      });

      /** A well-formed ID-JAG for strictAs; `claims` override or (undefined) remove. */
      const handMade = (claims: Record<string, unknown> = {}) => {
        const now = Math.floor(Date.now() / 1000);
        const payload: Record<string, unknown> = {
          iss: keys.origin,
          sub: 'bob',
          aud: strictAs.issuer,
          client_id: AS_CLIENT.client_id,
          jti: randomUUID(),
          iat: now,
          exp: now + 300,
          resource: mcp.url,
          scope: 'mcp:read mcp:write',
          ...claims,
        };
        for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
        return new SignJWT(payload as JWTPayload)
          .setProtectedHeader({ alg: 'RS256', kid, typ: ID_JAG_TYP })
          .sign(signingKey);
      };
      const redeemHere = async (claims?: Record<string, unknown>, params: Params = {}) =>
        postForm(
          `${strictAs.issuer}/token`,
          { grant_type: JWT_BEARER, assertion: await handMade(claims), ...params },
          basic(AS_CLIENT.client_id, AS_CLIENT.client_secret as string),
        );

      it('grants the intersection of the requested and the ID-JAG scopes, for the chosen resource', async function () {
        assert.equal((await redeemHere()).body.scope, 'mcp:read mcp:write');
        assert.equal((await redeemHere({}, { scope: 'mcp:write other' })).body.scope, 'mcp:write');
        assert.equal((await redeemHere({ aud: [strictAs.issuer] })).status, 200);
        const two = { resource: [mcp.url, 'http://127.0.0.1:2/mcp'] };
        const chosen = await redeemHere(two, { resource: 'http://127.0.0.1:2/mcp' });
        assert.equal(decodeJwt(String(chosen.body.access_token)).aud, 'http://127.0.0.1:2/mcp');
      });

      it('refuses ID-JAGs whose claims break the profile', async function () {
        const now = Math.floor(Date.now() / 1000);
        const cases: [string, Record<string, unknown>, Params, string, RegExp][] = [
          ['aud with two values', { aud: [strictAs.issuer, 'http://127.0.0.1:1'] }, {}, 'invalid_grant', /alone/],
          ['no jti', { jti: undefined }, {}, 'invalid_grant', /jti/],
          ['no client_id', { client_id: undefined }, {}, 'invalid_grant', /client_id/],
          ['no exp', { exp: undefined }, {}, 'invalid_grant', /exp/],
          ['expired', { iat: now - 600, exp: now - 300 }, {}, 'invalid_grant', /exp/],
          ['issued in the future', { iat: now + 120, exp: now + 420 }, {}, 'invalid_grant', /future/],
          ['key-bound (cnf)', { cnf: { jkt: 'abc' } }, {}, 'invalid_grant', /DPoP/],
          ['no resource', { resource: undefined }, {}, 'invalid_grant', /no resource/],
          [
            'a resource elsewhere',
            { resource: 'https://mcp.elsewhere.example/' },
            {},
            'invalid_grant',
            /not a resource/,
          ],
          ['an unknown scope', { scope: 'mcp:read admin:all' }, {}, 'invalid_grant', /admin:all/],
          [
            'several resources, none chosen',
            { resource: [mcp.url, 'http://127.0.0.1:2/mcp'] },
            {},
            'invalid_target',
            /choose/,
          ],
          [
            'a resource it does not cover',
            {},
            { resource: 'http://127.0.0.1:2/mcp' },
            'invalid_target',
            /does not cover/,
          ],
          ['no requested scope granted', {}, { scope: 'other' }, 'invalid_scope', /no requested scope/],
        ];
        for (const [name, claims, params, error, description] of cases) {
          const { body } = await redeemHere(claims, params);
          assert.equal(body.error, error, `${name}: ${JSON.stringify(body)}`);
          assert.match(String(body.error_description), description, name);
        }
      });
    });
  });
});
