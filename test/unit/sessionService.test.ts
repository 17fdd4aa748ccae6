import assert from 'node:assert/strict';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import type * as vscode from 'vscode';
import { parseServers, type ServerEntry } from '../../src/vscode/model/serverConfig';
import { CachedTokenStore } from '../../src/oauth/tokens/cachedTokenStore';
import { McpOAuthError } from '../../src/oauth/errors';
import { nullLogger } from '../../src/oauth/http/logger';
import { SecretTokenStore, SECRET_KEYS } from '../../src/vscode/secretStores';
import { SessionService, type SessionHost, type SignInUi } from '../../src/vscode/sessionService';
import type { UriCallbacks } from '../../src/vscode/uriCallbacks';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { POST_CLIENT, staticClients } from '../fixtures/testClients';

/**
 * The extension's heavy half (src/vscode/sessionService.ts needs no running VS Code: it only uses the
 * SecretStorage it is given) against the real oidc-provider and an SDK-built MCP server: where a
 * pre-registered client's secret or private key comes from, and that a bad one is never kept.
 */

/** VS Code's SecretStorage, in memory, with its change event. */
class MemorySecrets implements vscode.SecretStorage {
  readonly values = new Map<string, string>();
  private readonly listeners = new Set<(e: vscode.SecretStorageChangeEvent) => void>();
  readonly onDidChange: vscode.Event<vscode.SecretStorageChangeEvent> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }
  async keys(): Promise<string[]> {
    return [...this.values.keys()];
  }
  async store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    for (const l of this.listeners) l({ key });
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
    for (const l of this.listeners) l({ key });
  }
}

const ui = (): SignInUi => ({
  signal: new AbortController().signal,
  report: () => undefined,
  openBrowser: async () => assert.fail('no browser in these flows'),
  presentDeviceCode: async () => assert.fail('no device code in these flows'),
});

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
      logger: nullLogger,
      callbacks: {} as UriCallbacks,
      redirectUri: async () => assert.fail('no redirect in these flows'),
      externalUrl: async (url) => url,
      settings: () => ({ timeoutMs: 10_000, refreshBeforeMs: 60_000 }),
      askClientSecret: async () => (asked.clientSecret++, answers.clientSecret),
      askPrivateKey: async () => (asked.privateKey++, answers.privateKey),
      approveStepUp: async () => false,
      onStatus: () => undefined,
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
    return { service: new SessionService(host), secrets, asked, entry };
  }

  const tokenRequests = () => as.grants.filter((g) => g.grantType === 'client_credentials').length;

  it('private_key_jwt: asks for the key once, keeps it in SecretStorage, and signs the assertion with it', async () => {
    const { service, secrets, asked, entry } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      { privateKey: pem },
    );
    const tokens = await service.signIn(entry, 'clientCredentials', ui());
    assert.equal(tokens.clientId, 'static-jwt');
    assert.equal(asked.privateKey, 1);
    assert.equal(secrets.values.get(SECRET_KEYS.privateKey('machine')), pem, 'kept in SecretStorage, nowhere else');
    await service.refresh(entry); // the grant runs again, with the stored key
    await service.signIn(entry, 'clientCredentials', ui());
    assert.equal(asked.privateKey, 1, 'never asked again');
  });

  it('private_key_jwt: a key that does not load is refused before any request, and not kept', async () => {
    const { service, secrets, entry } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      { privateKey: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n' },
    );
    const before = tokenRequests();
    await assert.rejects(
      service.signIn(entry, 'clientCredentials', ui()),
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
    const { service, secrets, entry } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      {},
    );
    await assert.rejects(
      service.signIn(entry, 'clientCredentials', ui()),
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
    const { service, secrets, asked, entry } = setUp(
      { clientId: POST_CLIENT.client_id, tokenEndpointAuthMethod: 'client_secret_post' },
      { clientSecret: POST_CLIENT.client_secret as string },
    );
    await service.signIn(entry, 'clientCredentials', ui());
    await service.signIn(entry, 'clientCredentials', ui());
    assert.equal(asked.clientSecret, 1);
    assert.equal(secrets.values.get(SECRET_KEYS.clientSecret('machine')), POST_CLIENT.client_secret);
  });

  it('Reset Client Registration forgets the stored secret and private key too', async () => {
    const { service, secrets, asked, entry } = setUp(
      { clientId: 'static-jwt', tokenEndpointAuthMethod: 'private_key_jwt' },
      { privateKey: pem },
    );
    await service.signIn(entry, 'clientCredentials', ui());
    await service.resetClientRegistration(entry);
    assert.equal(secrets.values.get(SECRET_KEYS.privateKey('machine')), undefined);
    await service.signIn(entry, 'clientCredentials', ui());
    assert.equal(asked.privateKey, 2, 'asked again after the reset');
  });
});
