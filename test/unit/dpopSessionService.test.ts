// The extension's heavy half with DPoP (src/vscode/sessionService.ts needs no running VS Code, only the
// SecretStorage it is given), against oidc-provider and the DPoP-verifying MCP server: the key in SecretStorage
// under its own key family, the tool listing and the gateway route with proofs, and Reset Client Registration
// replacing the key. And the SecretStorage key store itself.
import assert from 'node:assert/strict';
import { generateDpopKey } from '../../src/oauth/dpop/dpopKeys';
import { nullLogger } from '../../src/oauth/http/logger';
import { CachedTokenStore } from '../../src/oauth/tokens/cachedTokenStore';
import { parseServers, type ServerEntry } from '../../src/vscode/model/serverConfig';
import { SecretDpopKeyStore, SecretTokenStore, SECRET_KEYS } from '../../src/vscode/secretStores';
import { SessionService, type SessionHost } from '../../src/vscode/sessionService';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startDpopMcpServer, type DpopMcpServer } from '../fixtures/dpopMcpServer';
import { ScriptedUser, text } from './support/coreHarness';
import { connectViaGateway } from './support/gatewayHarness';
import { MemorySecrets } from './support/memorySecrets';

describe('SessionService with DPoP', function () {
  this.timeout(30_000);
  let as: AuthServer;
  let dpop: DpopMcpServer;

  before(async () => {
    as = await startAuthServer({ dpop: { nonce: true } });
    dpop = await startDpopMcpServer({ as, nonce: true });
  });
  after(async () => {
    await dpop.close();
    await as.close();
  });

  function setUpHost(secrets: MemorySecrets): SessionHost {
    return {
      secrets,
      tokens: new CachedTokenStore(new SecretTokenStore(secrets)),
      sessions: () => ({}),
      logger: nullLogger,
      settings: () => ({ timeoutMs: 10_000, refreshBeforeMs: 60_000 }),
      onStatus: () => undefined,
      stepUp: async () => false,
    };
  }

  function setUp(secrets = new MemorySecrets(), id = 'team.dpop') {
    const parsed = parseServers([{ name: 'DPoP', id, url: dpop.url }]);
    assert.deepEqual(parsed.invalid, []);
    const entry: ServerEntry = parsed.servers[0]!;
    return { service: new SessionService(setUpHost(secrets)), secrets, entry };
  }

  it('keeps the key in SecretStorage under its own key, lists tools and serves the gateway route with proofs', async () => {
    const { service, secrets, entry } = setUp();
    const tokens = await service.signIn(entry, new ScriptedUser());
    assert.equal(tokens.tokenType, 'DPoP');
    const keyName = SECRET_KEYS.dpopKey(entry.id, as.issuer);
    assert.equal(keyName, `mcpOAuth.dpopKey/team.dpop/${as.issuer}`);
    const stored = JSON.parse(secrets.values.get(keyName)!) as { jkt: string; privateJwk: { d: string } };
    assert.equal(stored.jkt, tokens.dpopJkt);
    assert.ok(!secrets.values.get(SECRET_KEYS.tokens(entry.id))!.includes(stored.privateJwk.d), 'not with the tokens');

    const tools = await service.listTools(entry);
    assert.deepEqual(tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);

    const route = await service.gatewayRoute(entry);
    const before = dpop.requests.length;
    const { client } = await connectViaGateway(route.url, {
      requestHeaders: route.headers,
    } as unknown as Parameters<typeof connectViaGateway>[1]);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
    await client.close();
    const upstream = dpop.requests.slice(before).filter((r) => r.hasAuthorization);
    assert.ok(upstream.length >= 3, `${upstream.length} requests`);
    assert.ok(
      upstream.every((r) => r.scheme === 'DPoP' && r.proof?.htu === dpop.url),
      'DPoP, with proofs for the server URL',
    );
    assert.ok(
      upstream.slice(1).every((r) => r.outcome === 'ok'),
      upstream.map((r) => r.outcome).join(', '),
    );
    await service.dispose();
  });

  it('Reset Client Registration replaces the key: the next sign-in binds the tokens to a new one', async () => {
    const { service, secrets, entry } = setUp();
    const first = await service.signIn(entry, new ScriptedUser());
    await service.resetClientRegistration(entry);
    assert.equal(secrets.values.get(SECRET_KEYS.dpopKey(entry.id, as.issuer)), undefined, 'deleted');
    await assert.rejects(service.listTools(entry), 'the old tokens cannot be used without their key');
    const second = await service.signIn(entry, new ScriptedUser());
    assert.notEqual(second.dpopJkt, first.dpopJkt);
    assert.equal(JSON.parse(secrets.values.get(SECRET_KEYS.dpopKey(entry.id, as.issuer))!).jkt, second.dpopJkt);
    assert.equal((await service.listTools(entry)).length, 2);
    await service.dispose();
  });

  it('Remove Server deletes the key, the client secret and the private key, in a window that never discovered the server too', async () => {
    const { service, secrets, entry } = setUp();
    const tokens = await service.signIn(entry, new ScriptedUser());
    const other = setUp(secrets, 'team.other'); // another entry at the same server and AS
    await other.service.signIn(other.entry, new ScriptedUser());
    await secrets.store(SECRET_KEYS.clientSecret(entry.id), 'kept-secret');
    await secrets.store(SECRET_KEYS.privateKey(entry.id), '{"kty":"EC"}');
    await service.signOut(entry);

    // A new window: nothing discovered, no key loaded; the issuer comes from the session read before sign-out.
    const fresh = new SessionService(setUpHost(secrets));
    await fresh.forget(entry, [tokens.issuer]);
    for (const key of [
      SECRET_KEYS.dpopKey(entry.id, as.issuer),
      SECRET_KEYS.clientSecret(entry.id),
      SECRET_KEYS.privateKey(entry.id),
    ]) {
      assert.equal(secrets.values.get(key), undefined, `${key} was deleted`);
    }
    assert.ok(secrets.values.get(SECRET_KEYS.dpopKey('team.other', as.issuer)), "another entry's key stays");

    // The window that signed in knows the issuer itself.
    const again = await service.signIn(entry, new ScriptedUser());
    assert.notEqual(again.dpopJkt, tokens.dpopJkt, 'a new key');
    await service.signOut(entry);
    await service.forget(entry, []);
    assert.equal(secrets.values.get(SECRET_KEYS.dpopKey(entry.id, as.issuer)), undefined);
    await Promise.all([service.dispose(), fresh.dispose(), other.service.dispose()]);
  });
});

describe('SecretDpopKeyStore', () => {
  it('round-trips a key per (server id, issuer), ids with slashes included, and treats a damaged one as none', async () => {
    const secrets = new MemorySecrets();
    const store = new SecretDpopKeyStore(secrets);
    const key = await generateDpopKey('ES256', 1);
    await store.set('a/b', 'https://as.example/c', key);
    await store.set('a', 'https://as.example/b/c', await generateDpopKey('ES256', 2));
    assert.deepEqual(await store.get('a/b', 'https://as.example/c'), key);
    assert.notDeepEqual(await store.get('a', 'https://as.example/b/c'), key, 'no collision between the two');
    for (const damaged of ['{', '{"version":1}', 'null', JSON.stringify({ ...key, privateJwk: { kty: 'EC' } })]) {
      await secrets.store(SECRET_KEYS.dpopKey('x', 'https://as.example'), damaged);
      assert.equal(await store.get('x', 'https://as.example'), undefined);
    }
    await store.delete('a/b', 'https://as.example/c');
    assert.equal(await store.get('a/b', 'https://as.example/c'), undefined);
    assert.ok(await store.get('a', 'https://as.example/b/c'));
  });
});
