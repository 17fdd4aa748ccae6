// Smoke tests for the test peers in test/fixtures: they must behave like the real servers they stand for.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import {
  startCustomMetadataPathServer,
  startModernServer,
  startNoMetadataServer,
  startSelfHostedAsServer,
  startSplitDomainServer,
  type McpServerFixture,
} from '../fixtures/mcpServers';
import { MODERN_VERSION } from '../fixtures/modernEndpoint';
import { fetchMetadata, registerPublicClient, signIn } from '../fixtures/signIn';
import { PUBLIC_CLIENT, staticClients } from '../fixtures/testClients';
import { approveAuthorization, approveDevice } from '../fixtures/userAgent';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Resources need not be running for the AS to issue tokens for them. */
const RESOURCE = 'http://127.0.0.1:65000/mcp';

const form = (params: Record<string, string>) => new URLSearchParams(params);

async function postForm(url: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers, body: form(params) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The auth-params of a `WWW-Authenticate: Bearer …` header. */
function challengeOf(response: Response): Record<string, string> {
  const header = response.headers.get('www-authenticate') ?? '';
  assert.match(header, /^Bearer /);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key!, value!]));
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function unauthenticatedPost(url: string): Promise<Response> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  return fetch(url, { method: 'POST', headers: MCP_HEADERS, body });
}

/** Connects with the SDK client, lists tools, and optionally posts a raw tools/call in the same session. */
async function useMcp(server: McpServerFixture, token: string, rawToolCall?: string) {
  const client = new Client({ name: 'fixture-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  try {
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    const sessionId = transport.sessionId;
    assert.ok(sessionId && server.sessionIds().includes(sessionId));
    let raw: Response | undefined;
    if (rawToolCall) {
      raw = await fetch(server.url, {
        method: 'POST',
        headers: {
          ...MCP_HEADERS,
          authorization: `Bearer ${token}`,
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: rawToolCall, arguments: {} },
        }),
      });
    }
    const whoami = await client.callTool({ name: 'whoami' });
    return { tools, whoami, raw };
  } finally {
    await client.close();
  }
}

describe('test peers', function () {
  describe('authorization server', function () {
    let as: AuthServer;
    let clientKey: CryptoKey;

    before(async function () {
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      clientKey = privateKey;
      const jwk = { ...(await exportJWK(publicKey)), kid: 'client-key', alg: 'ES256' };
      as = await startAuthServer({ accessTokenTtl: 120, clients: staticClients({ keys: [jwk] }) });
    });
    after(() => as.close());

    it('serves the same metadata at the RFC 8414 and OIDC well-known URLs', async function () {
      const rfc8414 = await fetchMetadata(`${as.issuer}/.well-known/oauth-authorization-server`);
      const oidc = await fetchMetadata(`${as.issuer}/.well-known/openid-configuration`);
      assert.deepEqual(rfc8414, oidc);
      assert.equal(rfc8414.issuer, as.issuer);
      const metadata = rfc8414 as unknown as Record<string, unknown>;
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.equal(metadata.jwks_uri, as.jwksUri);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      for (const key of [
        'registration_endpoint',
        'device_authorization_endpoint',
        'revocation_endpoint',
        'introspection_endpoint',
      ]) {
        assert.ok(metadata[key], key);
      }
    });

    it('registers a client (DCR) and runs auth code + PKCE and a rotating refresh, with oauth4webapi', async function () {
      const options = { [oauth.allowInsecureRequests]: true };
      const issuer = new URL(as.issuer);
      const server = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }),
      );
      const registered = await oauth.processDynamicClientRegistrationResponse(
        await oauth.dynamicClientRegistrationRequest(
          server,
          {
            redirect_uris: ['http://127.0.0.1/callback'],
            application_type: 'native',
            token_endpoint_auth_method: 'none',
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
          },
          options,
        ),
      );
      const client: oauth.Client = { client_id: registered.client_id };

      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const redirectUri = 'http://127.0.0.1:49999/callback'; // another port: RFC 8252 §7.3
      const url = new URL(server.authorization_endpoint!);
      url.search = form({
        client_id: client.client_id,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'mcp:read',
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        resource: RESOURCE,
      }).toString();
      const callback = await approveAuthorization(url.href);
      assert.equal(callback.origin + callback.pathname, redirectUri);
      const params = oauth.validateAuthResponse(server, client, callback, state);

      const tokens = await oauth.processAuthorizationCodeResponse(
        server,
        client,
        await oauth.authorizationCodeGrantRequest(server, client, oauth.None(), params, redirectUri, verifier, {
          ...options,
          additionalParameters: { resource: RESOURCE },
        }),
      );
      assert.equal(tokens.expires_in, 120);
      assert.ok(tokens.refresh_token);
      const { payload, protectedHeader } = await jwtVerify(
        tokens.access_token,
        createRemoteJWKSet(new URL(as.jwksUri)),
        { issuer: as.issuer, audience: RESOURCE },
      );
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.email, 'alice@example.test');
      assert.equal(payload.scope, 'mcp:read');

      const refreshed = await oauth.processRefreshTokenResponse(
        server,
        client,
        await oauth.refreshTokenGrantRequest(server, client, oauth.None(), tokens.refresh_token, options),
      );
      assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
      const reused = await postForm(server.token_endpoint!, {
        grant_type: 'refresh_token',
        client_id: client.client_id,
        refresh_token: tokens.refresh_token,
      });
      assert.equal(reused.body.error, 'invalid_grant');
      assert.deepEqual(
        as.grants.slice(-3).map((g) => g.grantType),
        ['authorization_code', 'refresh_token', 'refresh_token'],
      );
    });

    it('accepts any loopback port only for native clients', async function () {
      const web = await registerPublicClient(as.metadataUrl, {
        application_type: 'web',
        redirect_uris: ['http://127.0.0.1:4000/cb'],
      });
      await assert.rejects(
        signIn({
          metadataUrl: as.metadataUrl,
          clientId: web.client_id,
          redirectUri: 'http://127.0.0.1:4001/cb',
          resource: RESOURCE,
          scope: 'mcp:read',
        }),
        /redirect_uri/,
      );
      const native = await signIn({
        metadataUrl: as.metadataUrl,
        clientId: PUBLIC_CLIENT.client_id,
        redirectUri: 'http://127.0.0.1:4001/callback',
        resource: RESOURCE,
        scope: 'mcp:read',
      });
      assert.ok(native.access_token);
    });

    it('redirects back with access_denied when the user refuses', async function () {
      await assert.rejects(
        signIn({
          metadataUrl: as.metadataUrl,
          clientId: PUBLIC_CLIENT.client_id,
          resource: RESOURCE,
          scope: 'mcp:read',
          user: { deny: true },
        }),
        /error=access_denied/,
      );
    });

    it('runs the device flow through verification_uri or verification_uri_complete', async function () {
      const start = async () =>
        (
          await postForm(`${as.issuer}/device/auth`, {
            client_id: PUBLIC_CLIENT.client_id,
            scope: 'mcp:read',
            resource: RESOURCE,
          })
        ).body as Record<string, string>;
      const poll = (deviceCode: string) =>
        postForm(`${as.issuer}/token`, {
          grant_type: DEVICE_GRANT,
          client_id: PUBLIC_CLIENT.client_id,
          device_code: deviceCode,
        });

      const first = await start();
      assert.equal((await poll(first.device_code!)).body.error, 'authorization_pending');
      await approveDevice(first.verification_uri!, first.user_code!);
      const approved = await poll(first.device_code!);
      assert.equal(approved.status, 200);
      assert.equal(approved.body.scope, 'mcp:read');
      assert.ok(approved.body.refresh_token);

      const second = await start();
      await approveDevice(second.verification_uri_complete!);
      assert.equal((await poll(second.device_code!)).status, 200);

      const refused = await start();
      await approveDevice(refused.verification_uri_complete!, undefined, { deny: true });
      assert.equal((await poll(refused.device_code!)).body.error, 'access_denied');
    });

    it('issues client-credentials tokens to basic, post and private_key_jwt clients', async function () {
      const token = `${as.issuer}/token`;
      const grant = { grant_type: 'client_credentials', scope: 'mcp:read mcp:write', resource: RESOURCE };
      const basic = await postForm(token, grant, {
        authorization: `Basic ${Buffer.from('static-basic:static-basic-secret').toString('base64')}`,
      });
      const post = await postForm(token, { ...grant, client_id: 'static-post', client_secret: 'static-post-secret' });
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'client-key' })
        .setIssuer('static-jwt')
        .setSubject('static-jwt')
        .setAudience(as.issuer)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(clientKey);
      const jwt = await postForm(token, {
        ...grant,
        client_id: 'static-jwt',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      });
      for (const [name, result] of Object.entries({ basic, post, jwt })) {
        assert.equal(result.status, 200, `${name}: ${JSON.stringify(result.body)}`);
        assert.equal(result.body.scope, 'mcp:read mcp:write');
      }
      const wrongSecret = await postForm(token, { ...grant, client_id: 'static-post', client_secret: 'nope' });
      assert.equal(wrongSecret.body.error, 'invalid_client');
    });

    it('revokes a refresh token: introspection says inactive and the refresh fails', async function () {
      const tokens = await signIn({
        metadataUrl: as.metadataUrl,
        clientId: PUBLIC_CLIENT.client_id,
        resource: RESOURCE,
        scope: 'mcp:read',
      });
      const refreshToken = tokens.refresh_token!;
      assert.equal((await as.introspect(refreshToken)).active, true);
      // JWT access tokens can be neither introspected nor revoked by oidc-provider.
      const jwtRevocation = await postForm(`${as.issuer}/token/revocation`, {
        token: tokens.access_token,
        client_id: PUBLIC_CLIENT.client_id,
      });
      assert.equal(jwtRevocation.body.error, 'unsupported_token_type');

      const revoked = await fetch(`${as.issuer}/token/revocation`, {
        method: 'POST',
        body: form({ token: refreshToken, token_type_hint: 'refresh_token', client_id: PUBLIC_CLIENT.client_id }),
      });
      assert.equal(revoked.status, 200);
      assert.equal((await as.introspect(refreshToken)).active, false);
      const refresh = await postForm(`${as.issuer}/token`, {
        grant_type: 'refresh_token',
        client_id: PUBLIC_CLIENT.client_id,
        refresh_token: refreshToken,
      });
      assert.equal(refresh.body.error, 'invalid_grant');
    });
  });

  describe('authorization server options', function () {
    it('keeps the refresh token when rotation is off', async function () {
      const as = await startAuthServer({ refreshTokenRotation: false, clients: [PUBLIC_CLIENT] });
      try {
        const tokens = await signIn({
          metadataUrl: as.metadataUrl,
          clientId: PUBLIC_CLIENT.client_id,
          resource: RESOURCE,
          scope: 'mcp:read',
        });
        const refreshed = await postForm(`${as.issuer}/token`, {
          grant_type: 'refresh_token',
          client_id: PUBLIC_CLIENT.client_id,
          refresh_token: tokens.refresh_token!,
        });
        assert.equal(refreshed.status, 200);
        assert.equal(refreshed.body.refresh_token, tokens.refresh_token);
      } finally {
        await as.close();
      }
    });

    it('injects faults (500, down, slow; everywhere or on some paths) and recovers on the same issuer', async function () {
      const as = await startAuthServer({ slowMs: 300 });
      try {
        const metadata = `${as.issuer}/.well-known/oauth-authorization-server`;
        assert.equal((await fetch(metadata)).status, 200);
        as.setFault('500');
        assert.equal((await fetch(metadata)).status, 500);
        as.setFault('down');
        await assert.rejects(fetch(metadata));
        as.setFault('slow');
        const started = Date.now();
        assert.equal((await fetch(metadata)).status, 200);
        assert.ok(Date.now() - started >= 290);
        as.setFault('500', ['/token']);
        assert.equal((await fetch(metadata)).status, 200);
        assert.equal((await postForm(`${as.issuer}/token`, { grant_type: 'client_credentials' })).status, 500);
        as.setFault(undefined);
        assert.equal((await fetchMetadata(metadata)).issuer, as.issuer);
        assert.ok(as.requests.filter((r) => r.path === '/.well-known/oauth-authorization-server').length >= 4);
      } finally {
        await as.close();
      }
    });
  });

  describe('protected MCP servers', function () {
    let as: AuthServer;
    before(async function () {
      as = await startAuthServer({ clients: [PUBLIC_CLIENT] });
    });
    after(() => as.close());

    const tokenFor = (resource: string, scope: string, metadataUrl = as.metadataUrl) =>
      signIn({ metadataUrl, clientId: PUBLIC_CLIENT.client_id, resource, scope }).then((t) => t.access_token);

    it('split domain: challenges, publishes RFC 9728 metadata, serves tools and steps up scopes', async function () {
      const server = await startSplitDomainServer({ as });
      try {
        const unauthenticated = await unauthenticatedPost(server.url);
        assert.equal(unauthenticated.status, 401);
        const challenge = challengeOf(unauthenticated);
        assert.equal(challenge.error, 'invalid_token');
        assert.equal(challenge.scope, 'mcp:read');
        assert.equal(challenge.resource_metadata, `${server.origin}/.well-known/oauth-protected-resource/mcp`);

        const prm = (await (await fetch(challenge.resource_metadata!)).json()) as Record<string, unknown>;
        assert.equal(prm.resource, server.url);
        assert.deepEqual(prm.authorization_servers, [as.issuer]);
        assert.deepEqual(prm.scopes_supported, ['mcp:read', 'mcp:write']);

        const readOnly = await tokenFor(server.url, 'mcp:read');
        const { tools, whoami, raw } = await useMcp(server, readOnly, 'admin_action');
        assert.deepEqual(tools.sort(), ['admin_action', 'whoami']);
        assert.deepEqual(JSON.parse((whoami.content as { text: string }[])[0]!.text), {
          sub: 'alice',
          scopes: ['mcp:read'],
          clientId: 'static-public',
        });
        assert.equal(raw!.status, 403);
        assert.deepEqual(challengeOf(raw!), {
          error: 'insufficient_scope',
          scope: 'mcp:read mcp:write',
          resource_metadata: challenge.resource_metadata,
        });

        const readWrite = await tokenFor(server.url, 'mcp:read mcp:write');
        assert.equal((await useMcp(server, readWrite, 'admin_action')).raw!.status, 200);

        const otherAudience = await tokenFor(RESOURCE, 'mcp:read');
        const rejected = await fetch(server.url, {
          method: 'POST',
          headers: { ...MCP_HEADERS, authorization: `Bearer ${otherAudience}` },
          body: '{}',
        });
        assert.equal(rejected.status, 401);
        assert.ok(
          server.requests.some(
            (r) => r.rpcMethod === 'tools/list' && r.hasAuthorization && r.sessionId && r.status === 200,
          ),
        );
      } finally {
        await server.close();
      }
    });

    it('self-hosted AS: challenges with resource_metadata, registers, approves at once, refreshes', async function () {
      const server = await startSelfHostedAsServer();
      try {
        const challenge = challengeOf(await unauthenticatedPost(server.url));
        assert.equal(challenge.resource_metadata, `${server.origin}/.well-known/oauth-protected-resource/mcp`);
        const prm = (await (await fetch(challenge.resource_metadata!)).json()) as { authorization_servers: string[] };
        assert.deepEqual(prm.authorization_servers, [server.issuer]);

        const metadataUrl = `${server.origin}/.well-known/oauth-authorization-server`;
        const client = await registerPublicClient(metadataUrl);
        const tokens = await signIn({
          metadataUrl,
          clientId: client.client_id,
          resource: server.url,
          scope: 'mcp:read',
        });
        assert.deepEqual((await useMcp(server, tokens.access_token)).tools.sort(), ['admin_action', 'whoami']);

        const refreshed = await postForm(`${server.origin}/token`, {
          grant_type: 'refresh_token',
          client_id: client.client_id,
          refresh_token: tokens.refresh_token!,
        });
        assert.equal(refreshed.status, 200);
        assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token);
      } finally {
        await server.close();
      }
    });

    it('no metadata: challenges without resource_metadata and publishes no well-known documents', async function () {
      const server = await startNoMetadataServer({ as });
      try {
        const unauthenticated = await unauthenticatedPost(server.url);
        assert.equal(unauthenticated.status, 401);
        assert.deepEqual(challengeOf(unauthenticated), {
          error: 'invalid_token',
          error_description: 'Missing Authorization header',
          scope: 'mcp:read',
        });
        for (const path of [
          '/.well-known/oauth-protected-resource/mcp',
          '/.well-known/oauth-protected-resource',
          '/.well-known/oauth-authorization-server',
        ]) {
          assert.equal((await fetch(server.origin + path)).status, 404, path);
        }
        const token = await tokenFor(server.url, 'mcp:read');
        assert.deepEqual((await useMcp(server, token)).tools.sort(), ['admin_action', 'whoami']);
      } finally {
        await server.close();
      }
    });

    it('custom metadata path: the AS metadata lives only at its custom URL', async function () {
      const server = await startCustomMetadataPathServer({ clients: [PUBLIC_CLIENT] });
      try {
        const challenge = challengeOf(await unauthenticatedPost(server.url));
        const prm = (await (await fetch(challenge.resource_metadata!)).json()) as { authorization_servers: string[] };
        assert.deepEqual(prm.authorization_servers, [server.as.issuer]);
        for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
          assert.equal((await fetch(server.as.issuer + path)).status, 404, path);
        }
        assert.equal(server.metadataUrl, `${server.as.issuer}/config/oauth-metadata.json`);
        assert.equal((await fetchMetadata(server.metadataUrl)).issuer, server.as.issuer);

        const token = await tokenFor(server.url, 'mcp:read', server.metadataUrl);
        assert.deepEqual((await useMcp(server, token)).tools.sort(), ['admin_action', 'whoami']);
      } finally {
        await server.close();
      }
    });
  });
  describe('2026-07-28 MCP server', function () {
    const envelope = (version = MODERN_VERSION) => ({
      'io.modelcontextprotocol/protocolVersion': version,
      'io.modelcontextprotocol/clientCapabilities': {},
    });
    /** A raw POST: the body's method and params, and the headers given (none of the MCP ones unless given). */
    const post = async (
      url: string,
      method: string,
      params: Record<string, unknown>,
      headers: Record<string, string>,
    ) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...MCP_HEADERS, ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      const body = (await response.json()) as {
        result?: Record<string, unknown>;
        error?: { code: number; data?: unknown };
      };
      return { status: response.status, body, session: response.headers.get('mcp-session-id') };
    };
    const modern = (method: string, name?: string) => ({
      'mcp-protocol-version': MODERN_VERSION,
      'mcp-method': method,
      ...(name === undefined ? {} : { 'mcp-name': name }),
    });

    it('serves a well-formed request statelessly, and says who it is in the result', async function () {
      const server = await startModernServer();
      try {
        const { status, body, session } = await post(
          server.url,
          'server/discover',
          { _meta: envelope() },
          modern('server/discover'),
        );
        assert.equal(status, 200);
        assert.equal(session, null, 'no session minted');
        assert.deepEqual(body.result?.supportedVersions, [MODERN_VERSION]);
        assert.equal(body.result?.resultType, 'complete');
        assert.deepEqual(body.result?._meta, {
          'io.modelcontextprotocol/serverInfo': { name: 'modern', version: '1.0.0' },
        });
        const page = await post(
          server.url,
          'tools/list',
          { _meta: envelope(), cursor: 'page-2' },
          modern('tools/list'),
        );
        assert.deepEqual(
          (page.body.result?.tools as { name: string }[]).map((t) => t.name),
          ['echo_region'],
        );
        const encoded = `=?base64?${Buffer.from('whoami').toString('base64')}?=`;
        const call = await post(
          server.url,
          'tools/call',
          { _meta: envelope(), name: 'whoami' },
          modern('tools/call', encoded),
        );
        assert.equal(call.status, 200, 'a base64 Mcp-Name is decoded before the comparison');
        for (const method of ['GET', 'DELETE']) assert.equal((await fetch(server.url, { method })).status, 405, method);
      } finally {
        await server.close();
      }
    });

    it('refuses what the revision says to refuse, with its codes', async function () {
      const server = await startModernServer();
      try {
        const cases: [string, string, Record<string, unknown>, Record<string, string>, number, number][] = [
          ['initialize', 'initialize', { protocolVersion: '2025-06-18', capabilities: {} }, {}, 400, -32022],
          ['no _meta', 'tools/list', {}, modern('tools/list'), 400, -32602],
          [
            'no clientCapabilities',
            'tools/list',
            { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN_VERSION } },
            modern('tools/list'),
            400,
            -32602,
          ],
          ['no MCP-Protocol-Version', 'tools/list', { _meta: envelope() }, { 'mcp-method': 'tools/list' }, 400, -32020],
          [
            'another MCP-Protocol-Version',
            'tools/list',
            { _meta: envelope() },
            { ...modern('tools/list'), 'mcp-protocol-version': '2025-11-25' },
            400,
            -32020,
          ],
          [
            'an unsupported version',
            'tools/list',
            { _meta: envelope('2025-11-25') },
            { ...modern('tools/list'), 'mcp-protocol-version': '2025-11-25' },
            400,
            -32022,
          ],
          ['another Mcp-Method', 'tools/list', { _meta: envelope() }, modern('server/discover'), 400, -32020],
          ['no Mcp-Name', 'tools/call', { _meta: envelope(), name: 'whoami' }, modern('tools/call'), 400, -32020],
          [
            'another Mcp-Name',
            'tools/call',
            { _meta: envelope(), name: 'whoami' },
            modern('tools/call', 'admin_action'),
            400,
            -32020,
          ],
          [
            'no Mcp-Param-Region',
            'tools/call',
            { _meta: envelope(), name: 'echo_region', arguments: { region: 'eu' } },
            modern('tools/call', 'echo_region'),
            400,
            -32020,
          ],
          [
            'another Mcp-Param-Region',
            'tools/call',
            { _meta: envelope(), name: 'echo_region', arguments: { region: 'eu' } },
            { ...modern('tools/call', 'echo_region'), 'mcp-param-region': 'us' },
            400,
            -32020,
          ],
          ['an unknown method', 'ping', { _meta: envelope() }, modern('ping'), 404, -32601],
        ];
        for (const [what, method, params, headers, status, code] of cases) {
          const answer = await post(server.url, method, params, headers);
          assert.deepEqual([answer.status, answer.body.error?.code], [status, code], what);
        }
        const initialize = await post(
          server.url,
          'initialize',
          { protocolVersion: '2025-06-18', capabilities: {} },
          {},
        );
        assert.deepEqual(initialize.body.error?.data, { supported: [MODERN_VERSION], requested: '2025-06-18' });

        const legacyClient = new Client({ name: 'fixture-test', version: '1.0.0' });
        await assert.rejects(legacyClient.connect(new StreamableHTTPClientTransport(new URL(server.url))));
      } finally {
        await server.close();
      }
    });
  });
});
