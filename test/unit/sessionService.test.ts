import assert from 'node:assert/strict';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { parseServers, type ServerEntry } from '../../src/vscode/model/serverConfig';
import { CachedTokenStore } from '../../src/oauth/tokens/cachedTokenStore';
import { McpOAuthError } from '../../src/oauth/errors';
import { nullLogger } from '../../src/oauth/http/logger';
import { SecretTokenStore, SECRET_KEYS } from '../../src/vscode/secretStores';
import { SessionService, type SessionHost } from '../../src/vscode/sessionService';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { POST_CLIENT, staticClients } from '../fixtures/testClients';
import { ScriptedUser } from './support/coreHarness';
import { MemorySecrets } from './support/memorySecrets';

/**
 * The extension's heavy half (src/vscode/sessionService.ts needs no running VS Code: it only uses the
 * SecretStorage it is given) against the real oidc-provider and an SDK-built MCP server: where a
 * pre-registered client's secret or private key comes from, and that a bad one is never kept.
 */

describe('SessionService: pre-registered client credentials from SecretStorage', function () {
  let as: AuthServer;
  let split: McpServerFixture;
  let pem: string;

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    pem = await exportPKCS8(pair.privateKey);
    as = await startAuthServer({
      clients: staticClients({ keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'RS256', use: 'sig' }] }),
    });
    split = await startSplitDomainServer({ as });
  });
  after(async () => {
    await split.close();
    await as.close();
  });

  function setUp(auth: Record<string, unknown>, answers: { privateKey?: string; clientSecret?: string }) {
    const secrets = new MemorySecrets();
    const asked = { privateKey: 0, clientSecret: 0 };
    const host: SessionHost = {
      secrets,
      tokens: new CachedTokenStore(new SecretTokenStore(secrets)),
      sessions: () => ({}),
      logger: nullLogger,
      settings: () => ({ timeoutMs: 10_000, refreshBeforeMs: 60_000 }),
      onStatus: () => undefined,
      stepUp: async () => false,
    };
    const parsed = parseServers([
      {
        name: 'Machine',
        id: 'machine',
        url: split.url,
        auth: { flow: 'clientCredentials', scopes: ['mcp:read'], ...auth },
      },
    ]);
    assert.deepEqual(parsed.invalid, []);
    const entry: ServerEntry = parsed.servers[0]!;
    /** The user at VS Code for one sign-in: answers the secret or key prompt from `answers`, counting. */
    class User extends ScriptedUser {
      override async askCredentials(request: Parameters<ScriptedUser['askCredentials']>[0]) {
        if (request.method === 'private_key_jwt') {
          asked.privateKey++;
          if (answers.privateKey === undefined) {
            throw new McpOAuthError(
              'invalid_config',
              `${entry.name} signs in with a private key and none was chosen; sign in again and choose the client's key file`,
            );
          }
          return { privateKeyPem: answers.privateKey };
        }
        asked.clientSecret++;
        return answers.clientSecret === undefined ? undefined : { clientSecret: answers.clientSecret };
      }
    }
    const service = new SessionService(host);
    return { service, secrets, asked, entry, signIn: () => service.signIn(entry, new User()) };
  }

  const tokenRequests = () => as.grants.filter((g) => g.grantType === 'client_credentials').length;

  it('private_key_jwt: asks for the key once, keeps it in SecretStorage, and signs the assertion with it', async () => {
    const { service, secrets, asked, entry, signIn } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      { privateKey: pem },
    );
    const tokens = await signIn();
    assert.equal(tokens.clientId, 'static-jwt');
    assert.equal(asked.privateKey, 1);
    assert.equal(secrets.values.get(SECRET_KEYS.privateKey('machine')), pem, 'kept in SecretStorage, nowhere else');
    await service.refresh(entry); // the grant runs again, with the stored key
    await signIn();
    assert.equal(asked.privateKey, 1, 'never asked again');
  });

  it('private_key_jwt: a key that does not load is refused before any request, and not kept', async () => {
    const { secrets, signIn } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      { privateKey: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n' },
    );
    const before = tokenRequests();
    await assert.rejects(
      signIn(),
      (e: unknown) =>
        e instanceof McpOAuthError &&
        e.code === 'invalid_config' &&
        /PKCS#8/.test(e.message) &&
        !/not a key/.test(e.message),
    );
    assert.equal(tokenRequests(), before);
    assert.equal(secrets.values.get(SECRET_KEYS.privateKey('machine')), undefined);
    assert.equal(secrets.values.get(SECRET_KEYS.tokens('machine')), undefined);
  });

  it('private_key_jwt: no key chosen is a clear error naming the server, and nothing is kept', async () => {
    const { secrets, signIn } = setUp({ clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' }, {});
    await assert.rejects(
      signIn(),
      (e: unknown) =>
        e instanceof McpOAuthError &&
        e.code === 'invalid_config' &&
        /Machine/.test(e.message) &&
        /choose/.test(e.message),
    );
    assert.deepEqual(
      [...secrets.values.keys()].filter((k) => !k.startsWith('mcpOAuth.client/')),
      [],
    );
  });

  it('client_secret_post: asks for the secret once and keeps it in SecretStorage', async () => {
    const { secrets, asked, signIn } = setUp(
      { clientId: POST_CLIENT.client_id, tokenEndpointAuthMethod: 'client_secret_post' },
      { clientSecret: POST_CLIENT.client_secret as string },
    );
    await signIn();
    await signIn();
    assert.equal(asked.clientSecret, 1);
    assert.equal(secrets.values.get(SECRET_KEYS.clientSecret('machine')), POST_CLIENT.client_secret);
  });

  it('Reset Client Registration forgets the stored secret and private key too', async () => {
    const { service, secrets, asked, entry, signIn } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      { privateKey: pem },
    );
    await signIn();
    await service.resetClientRegistration(entry);
    assert.equal(secrets.values.get(SECRET_KEYS.privateKey('machine')), undefined);
    await signIn();
    assert.equal(asked.privateKey, 2, 'asked again after the reset');
  });

  it('a background refresh after Reset Client Registration fails with not_signed_in and asks nothing', async () => {
    const { service, asked, entry, signIn } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      { privateKey: pem },
    );
    await signIn();
    assert.equal(asked.privateKey, 1);
    await service.resetClientRegistration(entry);
    const before = tokenRequests();
    // The gateway's path: the token manager renews; no host, so nothing can prompt, and the key is gone.
    await assert.rejects(service.refresh(entry), (e: unknown) => {
      assert.ok(e instanceof McpOAuthError, String(e));
      assert.equal(e.code, 'not_signed_in');
      assert.match(e.message, /private key .* no longer stored.*sign in again/);
      return true;
    });
    assert.equal(asked.privateKey, 1, 'no prompt, no file dialog');
    assert.equal(tokenRequests(), before, 'nothing was sent without the key');
  });
});
