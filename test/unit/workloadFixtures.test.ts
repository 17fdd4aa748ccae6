// The workload identity federation peers (SEP-1933): a workload JWT issuer, and an AS that takes its JWTs as
// RFC 7523 jwt-bearer grants without any client registration.
import assert from 'node:assert/strict';
import { createRemoteJWKSet, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { JWT_BEARER } from '../fixtures/jwtAssertions';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { startWorkloadAuthServer, type WorkloadAuthServer } from '../fixtures/workloadAuthServer';
import {
  kubernetesServiceAccount,
  startWorkloadIssuer,
  type MintOptions,
  type WorkloadIssuer,
} from '../fixtures/workloadIssuer';

type Params = Record<string, string | string[] | undefined>;

async function post(url: string, params: Params, headers: Record<string, string> = {}) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of value === undefined ? [] : Array.isArray(value) ? value : [value]) body.append(name, item);
  }
  const response = await fetch(url, { method: 'POST', headers, body });
  return { response, body: (await response.json()) as Record<string, unknown> };
}

const ROUTER = kubernetesServiceAccount('agents', 'router');

describe('workload identity federation test peers', function () {
  let issuer: WorkloadIssuer;
  let as: WorkloadAuthServer;
  let mcp: McpServerFixture;
  let clock = 0;

  before(async function () {
    issuer = await startWorkloadIssuer();
    as = await startWorkloadAuthServer({
      trustedIssuers: [issuer.issuer],
      workloads: { [ROUTER.sub]: ['mcp:read', 'mcp:write'] },
      audiences: ['mcp-federation'],
      now: () => Date.now() + clock,
    });
    mcp = await startSplitDomainServer({ as });
  });
  after(async function () {
    await mcp.close();
    await as.close();
    await issuer.close();
  });
  afterEach(function () {
    clock = 0;
  });

  /** The router's token for the AS's token endpoint; `options` override. */
  const workloadJwt = (options: Partial<MintOptions> = {}) =>
    issuer.mint({ sub: ROUTER.sub, audience: as.tokenEndpoint, claims: ROUTER.claims, ...options });
  const requestToken = async (params: Params = {}, headers: Record<string, string> = {}) =>
    post(
      as.tokenEndpoint,
      { grant_type: JWT_BEARER, assertion: await workloadJwt(), resource: mcp.url, ...params },
      headers,
    );

  describe('workload issuer', function () {
    it('publishes OIDC discovery and JWKS, and mints JWTs like a projected service-account token', async function () {
      const discovery = (await (await fetch(issuer.discoveryUrl)).json()) as Record<string, unknown>;
      assert.equal(discovery.issuer, issuer.issuer);
      assert.equal(discovery.jwks_uri, issuer.jwksUri);
      const token = await workloadJwt({ audience: ['https://kubernetes.default.svc', as.tokenEndpoint] });
      const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
        issuer: issuer.issuer,
        audience: as.tokenEndpoint,
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(payload.sub, 'system:serviceaccount:agents:router');
      assert.equal((payload['kubernetes.io'] as { namespace: string }).namespace, 'agents');
      assert.equal(payload.exp! - payload.iat!, 600);
      assert.equal(payload.nbf, payload.iat);
      assert.ok(payload.jti);
    });
  });

  describe('authorization server', function () {
    it('advertises the jwt-bearer grant and no client authentication', async function () {
      const metadata = (await (await fetch(as.metadataUrl)).json()) as Record<string, unknown>;
      assert.equal(metadata.issuer, as.issuer);
      assert.equal(metadata.token_endpoint, as.tokenEndpoint);
      assert.deepEqual(metadata.grant_types_supported, [JWT_BEARER]);
      assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ['none']);
      assert.equal(metadata.registration_endpoint, undefined);
    });

    it('issues a JWT access token for the resource to a workload that sends no client_id', async function () {
      const { response, body } = await requestToken();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.deepEqual(
        { ...body, access_token: undefined },
        {
          access_token: undefined,
          token_type: 'Bearer',
          expires_in: 300,
          scope: 'mcp:read mcp:write',
        },
      );
      const { payload, protectedHeader } = await jwtVerify(
        String(body.access_token),
        createRemoteJWKSet(new URL(as.jwksUri)),
        { issuer: as.issuer, audience: mcp.url },
      );
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(payload.sub, ROUTER.sub);
      assert.ok(issuer.requests.some((r) => r.path === '/.well-known/openid-configuration'));
      assert.ok(issuer.requests.some((r) => r.path === '/openid/v1/jwks'));
      assert.deepEqual(as.grants.at(-1), { grantType: JWT_BEARER, sub: ROUTER.sub });

      const client = new Client({ name: 'fixture-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcp.url), {
          requestInit: { headers: { authorization: `Bearer ${String(body.access_token)}` } },
        }),
      );
      const whoami = await client.callTool({ name: 'whoami' });
      assert.equal(JSON.parse((whoami.content as { text: string }[])[0]!.text).sub, ROUTER.sub);
      await client.close();
    });

    it('takes its issuer or a configured audience too, narrows scopes on request, and records a client_id sent anyway', async function () {
      for (const audience of [as.issuer, 'mcp-federation']) {
        const accepted = await requestToken({ assertion: await workloadJwt({ audience }) });
        assert.equal(accepted.response.status, 200, JSON.stringify(accepted.body));
      }
      const narrowed = await requestToken({ scope: 'mcp:read', client_id: 'ignored' });
      assert.equal(narrowed.body.scope, 'mcp:read');
      assert.deepEqual(as.grants.at(-1), { grantType: JWT_BEARER, clientId: 'ignored', sub: ROUTER.sub });
    });

    it('uses a configured jwks_uri without discovery', async function () {
      const pinned = await startWorkloadAuthServer({
        trustedIssuers: [{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
        workloads: { [ROUTER.sub]: ['mcp:read'] },
      });
      try {
        const discoveries = issuer.requests.filter((r) => r.path === '/.well-known/openid-configuration').length;
        const assertion = await issuer.mint({ sub: ROUTER.sub, audience: pinned.tokenEndpoint });
        const { body } = await post(pinned.tokenEndpoint, { grant_type: JWT_BEARER, assertion, resource: mcp.url });
        assert.equal(body.scope, 'mcp:read');
        assert.equal(issuer.requests.filter((r) => r.path === '/.well-known/openid-configuration').length, discoveries);
      } finally {
        await pinned.close();
      }
    });

    it('refuses bad requests, client credentials and bad assertions with the RFC 6749 / RFC 7523 error', async function () {
      const stranger = await startWorkloadIssuer();
      try {
        const now = Math.floor(Date.now() / 1000);
        const replayed = await workloadJwt();
        assert.equal((await requestToken({ assertion: replayed })).response.status, 200);
        const forged = await new SignJWT({ sub: ROUTER.sub, jti: 'f' })
          .setProtectedHeader({ alg: 'RS256' })
          .setIssuer(issuer.issuer)
          .setAudience(as.tokenEndpoint)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign((await generateKeyPair('RS256')).privateKey);
        const basic = { authorization: `Basic ${Buffer.from('router:secret').toString('base64')}` };

        const cases: [string, () => ReturnType<typeof post>, number, string, RegExp][] = [
          [
            'another grant type',
            () => requestToken({ grant_type: 'client_credentials' }),
            400,
            'unsupported_grant_type',
            /jwt-bearer/,
          ],
          ['no grant type', () => requestToken({ grant_type: undefined }), 400, 'invalid_request', /grant_type/],
          ['no assertion', () => requestToken({ assertion: undefined }), 400, 'invalid_request', /assertion/],
          [
            'a repeated parameter',
            () => requestToken({ scope: ['mcp:read', 'mcp:read'] }),
            400,
            'invalid_request',
            /repeated/,
          ],
          [
            'a JSON body',
            () =>
              fetch(as.tokenEndpoint, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: '{}',
              }).then(async (response) => ({ response, body: (await response.json()) as Record<string, unknown> })),
            400,
            'invalid_request',
            /x-www-form-urlencoded/,
          ],
          ['no resource', () => requestToken({ resource: undefined }), 400, 'invalid_target', /required/],
          [
            'a resource elsewhere',
            () => requestToken({ resource: 'https://mcp.elsewhere.example/' }),
            400,
            'invalid_target',
            /unknown/,
          ],
          [
            'a resource with a fragment',
            () => requestToken({ resource: `${mcp.url}#x` }),
            400,
            'invalid_target',
            /unknown/,
          ],
          ['Basic client authentication', () => requestToken({}, basic), 401, 'invalid_client', /no clients/],
          [
            'a client secret',
            () => requestToken({ client_id: 'router', client_secret: 'secret' }),
            401,
            'invalid_client',
            /no clients/,
          ],
          ['garbage', () => requestToken({ assertion: 'garbage' }), 400, 'invalid_grant', /not a JWT/],
          [
            'an untrusted issuer',
            async () =>
              requestToken({ assertion: await stranger.mint({ sub: ROUTER.sub, audience: as.tokenEndpoint }) }),
            400,
            'invalid_grant',
            /not trusted/,
          ],
          ['a forged signature', () => requestToken({ assertion: forged }), 400, 'invalid_grant', /assertion invalid/],
          [
            'another audience',
            async () => requestToken({ assertion: await workloadJwt({ audience: 'https://kubernetes.default.svc' }) }),
            400,
            'invalid_grant',
            /aud/,
          ],
          [
            'an expired JWT',
            async () => requestToken({ assertion: await workloadJwt({ issuedAt: now - 1000 }) }),
            400,
            'invalid_grant',
            /exp/,
          ],
          [
            'a JWT not valid yet',
            async () => requestToken({ assertion: await workloadJwt({ issuedAt: now + 300 }) }),
            400,
            'invalid_grant',
            /nbf|future/,
          ],
          [
            'no jti',
            async () => requestToken({ assertion: await workloadJwt({ claims: { jti: undefined } }) }),
            400,
            'invalid_grant',
            /jti/,
          ],
          [
            'no sub',
            async () => requestToken({ assertion: await workloadJwt({ claims: { sub: undefined } }) }),
            400,
            'invalid_grant',
            /sub/,
          ],
          ['a replayed JWT', () => requestToken({ assertion: replayed }), 400, 'invalid_grant', /used before/],
          [
            'an unknown workload',
            async () =>
              requestToken({ assertion: await workloadJwt({ sub: 'system:serviceaccount:agents:intruder' }) }),
            400,
            'unauthorized_client',
            /intruder/,
          ],
          [
            'a scope beyond the allowed',
            () => requestToken({ scope: 'mcp:read admin:all' }),
            400,
            'invalid_scope',
            /admin:all/,
          ],
        ];
        for (const [name, attempt, status, error, description] of cases) {
          const { response, body } = await attempt();
          assert.equal(response.status, status, `${name}: ${JSON.stringify(body)}`);
          assert.equal(body.error, error, name);
          assert.match(String(body.error_description), description, name);
          assert.equal(response.headers.get('cache-control'), 'no-store', name);
        }
        const challenged = await requestToken({}, basic);
        assert.equal(challenged.response.headers.get('www-authenticate'), `Basic realm="${as.issuer}"`);
      } finally {
        await stranger.close();
      }
    });

    it('judges expiry by its own clock, and takes new workloads at run time', async function () {
      const assertion = await workloadJwt();
      clock = 3600_000;
      assert.equal((await requestToken({ assertion })).body.error, 'invalid_grant');
      clock = 0;
      const scout = kubernetesServiceAccount('agents', 'scout');
      const scoutJwt = () => workloadJwt({ sub: scout.sub });
      assert.equal((await requestToken({ assertion: await scoutJwt() })).body.error, 'unauthorized_client');
      as.allow(scout.sub, []);
      assert.equal((await requestToken({ assertion: await scoutJwt() })).body.error, 'invalid_scope');
      as.allow(scout.sub, ['mcp:read']);
      assert.equal((await requestToken({ assertion: await scoutJwt() })).body.scope, 'mcp:read');
    });
  });
});
