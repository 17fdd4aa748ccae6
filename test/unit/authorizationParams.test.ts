import assert from 'node:assert/strict';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ClientRegistration } from '../../src/oauth/client/registration';
import { fetchAuthServerMetadata, type AuthServerMetadata } from '../../src/oauth/discovery/authServerMetadata';
import { McpOAuthError } from '../../src/oauth/errors';
import { createAuthorizationRequest, redeemAuthorizationCallback } from '../../src/oauth/grants/authorizationCode';
import { cryptoRandom } from '../../src/oauth/http/random';
import { Scopes } from '../../src/oauth/tokens/scopes';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { PUBLIC_CLIENT, STATIC_REDIRECT_URIS } from '../fixtures/testClients';
import { approveAuthorization } from '../fixtures/userAgent';

/**
 * The `authorizationParams` option in the authorization request, against the real oidc-provider: an extra
 * parameter reaches the authorization endpoint (and is honoured there), after the protocol's own, and none
 * can replace one of those (defence in depth: the settings and the CLI refuse the same names first).
 */
describe('authorization request: extra parameters (auth.authorizationParams)', function () {
  this.timeout(20_000);
  let as: AuthServer;
  let metadata: AuthServerMetadata;
  /** The parameters of each authorization request oidc-provider accepted, as it parsed them. */
  let accepted: Record<string, unknown>[];
  const redirectUri = STATIC_REDIRECT_URIS[0]!;
  const client = (): ClientRegistration => ({
    issuer: as.issuer,
    clientId: PUBLIC_CLIENT.client_id,
    tokenEndpointAuthMethod: 'none',
    method: 'preregistered',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
    registeredAt: 0,
  });
  const request = (authorizationParams?: Record<string, string>, as_ = metadata) =>
    createAuthorizationRequest({
      as: as_,
      client: client(),
      redirectUri,
      scopes: Scopes.of(['mcp:read']),
      random: cryptoRandom,
      ...(authorizationParams ? { authorizationParams } : {}),
    });

  before(async () => {
    as = await startAuthServer({ clients: [PUBLIC_CLIENT] });
    metadata = (await fetchAuthServerMetadata(globalThis.fetch, [as.metadataUrl], as.issuer))!;
    as.provider.on('authorization.accepted', (ctx: KoaContextWithOIDC) => {
      accepted.push({ ...(ctx.oidc.params as Record<string, unknown>) });
    });
  });
  beforeEach(() => {
    accepted = [];
  });
  after(async () => {
    await as?.close();
  });

  it('sends them after the protocol parameters, and the AS receives and honours them', async () => {
    const pending = await request({ ui_locales: 'de-CH', prompt: 'consent', login_hint: 'alice@example.test' });
    const sent = new URL(pending.url).searchParams;
    assert.deepEqual(
      [...sent.keys()],
      [
        'response_type',
        'client_id',
        'redirect_uri',
        'code_challenge',
        'code_challenge_method',
        'state',
        'scope',
        'ui_locales',
        'prompt',
        'login_hint',
      ],
    );
    const callback = await approveAuthorization(pending.url);
    assert.equal(accepted.length, 1, 'the authorization endpoint accepted the request');
    assert.equal(accepted[0]!.ui_locales, 'de-CH');
    assert.equal(accepted[0]!.prompt, 'consent');
    assert.equal(accepted[0]!.login_hint, 'alice@example.test');
    assert.equal(accepted[0]!.state, pending.state, "the sign-in's own state");
    // And the sign-in completes as without them.
    const tokens = await redeemAuthorizationCallback(
      { fetch: globalThis.fetch, as: metadata, client: client(), credentials: {}, now: Date.now },
      pending,
      callback,
    );
    assert.ok(tokens.accessToken);
  });

  const overriding: [string, Record<string, string>, RegExp][] = [
    ['state', { state: 'attacker-state' }, /cannot set "state"/],
    ['redirect_uri', { redirect_uri: 'https://evil.example/cb' }, /cannot set "redirect_uri"/],
    ['code_challenge', { code_challenge: 'x' }, /cannot set "code_challenge"/],
    ['client_id in another letter case', { Client_Id: 'other' }, /cannot set "client_id"/],
    ['scope', { scope: 'mcp:write' }, /cannot set "scope"/],
    ['request_uri', { request_uri: 'https://evil.example/request.jwt' }, /cannot set "request_uri"/],
    ['a value with a control character', { prompt: 'consent\r\nx' }, /control character/],
  ];
  for (const [what, params, message] of overriding) {
    it(`refuses ${what}, before anything is sent`, async () => {
      await assert.rejects(request(params), (error: unknown) => {
        assert.ok(error instanceof McpOAuthError && error.code === 'invalid_config', String(error));
        assert.match(error.message, /^auth\.authorizationParams /);
        assert.match(error.message, message);
        assert.ok(!error.message.includes('evil') && !error.message.includes('attacker'), 'no value is echoed');
        return true;
      });
      assert.deepEqual(accepted, []);
    });
  }

  it("refuses one the authorization endpoint's own query has", async () => {
    const endpoint = new URL(metadata.authorization_endpoint!);
    endpoint.searchParams.set('p', 'b2c_1_signin');
    const withQuery = { ...metadata, authorization_endpoint: endpoint.href };
    const pending = await request({ ui_locales: 'fr' }, withQuery);
    assert.equal(new URL(pending.url).searchParams.get('p'), 'b2c_1_signin');
    await assert.rejects(request({ p: 'b2c_1_other' }, withQuery), /gives "p", which the request has already/);
  });
});
