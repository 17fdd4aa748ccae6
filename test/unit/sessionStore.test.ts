import assert from 'node:assert/strict';
import { nullLogger } from '../../src/oauth/http/logger';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { parseServers, type ServerEntry } from '../../src/vscode/model/serverConfig';
import { SECRET_KEYS } from '../../src/vscode/secretStores';
import { SessionStore, type SessionChange } from '../../src/vscode/sessionStore';
import { MemorySecrets, SlowMemento } from './support/memorySecrets';

/**
 * The one session store of the VS Code layer (src/vscode/sessionStore.ts, which runs without VS Code): it
 * follows SecretStorage, announces typed changes once, keeps only a snapshot in globalState (one write at a
 * time), and shows a session only for the entry URL it was issued for.
 */

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const tokens = (n: number, patch: Partial<TokenSet> = {}): TokenSet => ({
  accessToken: jwt({ email: `user${n}@example.test` }),
  tokenType: 'Bearer',
  expiresAt: 1_000 + n,
  refreshToken: `rt-${n}`,
  scopes: ['mcp'],
  issuer: 'https://as.example.com',
  clientId: 'dcr-client',
  tokenEndpoint: 'https://as.example.com/token',
  serverUrl: 'https://a.example.com/mcp',
  registration: 'dcr',
  obtainedAt: n,
  ...patch,
});

function setUp(
  snapshot?: Record<string, unknown>,
  urls = { a: 'https://a.example.com/mcp', b: 'https://b.example.com/mcp' },
) {
  const secrets = new MemorySecrets();
  const memento = new SlowMemento(snapshot ? { 'mcpOAuth.sessions': snapshot } : undefined);
  let entries: readonly ServerEntry[] = parseServers([
    { name: 'A', id: 'a', url: urls.a },
    { name: 'B', id: 'b', url: urls.b, auth: { clientId: 'pre' } },
  ]).servers;
  const store = new SessionStore({ secrets, memento, logger: nullLogger, entries: () => entries });
  const changes: SessionChange[] = [];
  store.onDidChange((c) => changes.push(c));
  const problems: string[] = [];
  store.onDidChangeProblem((id) => problems.push(id));
  return {
    secrets,
    memento,
    store,
    changes,
    problems,
    setEntries: (raw: unknown[]) => (entries = parseServers(raw).servers),
    saved: () => (memento.value['mcpOAuth.sessions'] ?? {}) as Record<string, { expiresAt?: number }>,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('SessionStore', () => {
  it('starts from the globalState snapshot, before anything is read', () => {
    const { store, secrets } = setUp({
      a: {
        account: 'user1@example.test',
        scopes: [],
        refreshable: true,
        issuer: 'x',
        clientId: 'c',
        registration: 'dcr',
        obtainedAt: 1,
      },
    });
    assert.equal(store.get('a')?.account, 'user1@example.test');
    assert.equal(secrets.reads, 0);
  });

  it('announces its own write once, with a typed event, and not again on the echo from SecretStorage', async () => {
    const { store, changes } = setUp();
    await store.tokens.set('a', tokens(1));
    await settle();
    assert.deepEqual(
      changes.map((c) => [c.kind, c.id, c.session.account]),
      [['added', 'a', 'user1@example.test']],
    );
    await store.tokens.set('a', tokens(2));
    await store.tokens.delete('a');
    await settle();
    assert.deepEqual(
      changes.map((c) => c.kind),
      ['added', 'changed', 'removed'],
    );
    assert.equal(changes[2]!.session.account, 'user2@example.test', 'a removal carries the session as it was');
  });

  it('follows another window: a sign-in, a refresh and a sign-out there become added, changed, removed here', async () => {
    const { store, secrets, changes } = setUp();
    secrets.fromAnotherWindow(SECRET_KEYS.tokens('a'), JSON.stringify(tokens(1)));
    await settle();
    secrets.fromAnotherWindow(SECRET_KEYS.tokens('a'), JSON.stringify(tokens(2)));
    await settle();
    assert.equal(store.get('a')?.expiresAt, 1_002);
    assert.equal((await store.tokens.get('a'))?.expiresAt, 1_002, 'the in-memory copy followed too');
    secrets.fromAnotherWindow(SECRET_KEYS.tokens('a'), undefined);
    await settle();
    assert.deepEqual(
      changes.map((c) => c.kind),
      ['added', 'changed', 'removed'],
    );
    assert.equal(store.get('a'), undefined);
  });

  it('coalesces a burst of changes from elsewhere into few reads, and ends on the newest', async () => {
    const { store, secrets } = setUp();
    for (let n = 1; n <= 10; n++) secrets.fromAnotherWindow(SECRET_KEYS.tokens('a'), JSON.stringify(tokens(n)));
    await settle();
    assert.equal(store.get('a')?.expiresAt, 1_010);
    assert.ok(secrets.reads <= 3, `coalesced: ${secrets.reads} reads for 10 changes`);
  });

  it('keeps the snapshot in globalState with never two writes in flight, the last write being the state', async () => {
    const { store, memento, saved } = setUp();
    for (let n = 0; n < 20; n++)
      await store.tokens.set(n % 2 ? 'a' : 'b', tokens(n, n % 2 ? {} : { serverUrl: 'https://b.example.com/mcp' }));
    await store.flushed();
    await settle();
    await store.flushed();
    assert.equal(memento.overlapped, false, 'never two updates in flight');
    assert.ok(memento.writes < 20, `writes are shared: ${memento.writes} for 20 changes`);
    assert.deepEqual(Object.keys(saved()).sort(), ['a', 'b']);
    assert.equal(saved().a?.expiresAt, 1_019);
    assert.equal(saved().b?.expiresAt, 1_018);
    assert.deepEqual(JSON.parse(JSON.stringify(store.all())), saved());
  });

  it('holds no token in globalState: only the non-secret view', async () => {
    const { store, memento } = setUp();
    await store.tokens.set('a', tokens(1));
    await store.flushed();
    const text = JSON.stringify(memento.value);
    assert.doesNotMatch(text, /rt-1|e30\./);
    assert.doesNotMatch(text, /tokenState|stale/, 'runtime status is not persisted');
  });

  it('reports a damaged entry as the server’s problem and shows no session for it', async () => {
    const { store, secrets, problems } = setUp();
    secrets.fromAnotherWindow(SECRET_KEYS.tokens('a'), '{not json');
    await settle();
    assert.deepEqual(problems, ['a']);
    assert.match(store.problem('a') ?? '', /damaged/);
    assert.equal(store.get('a'), undefined);
  });

  it('shows a session only for the URL it was issued for: another URL needs a new sign-in, and says so', async () => {
    const { store, secrets, setEntries, changes } = setUp();
    await store.tokens.set('a', tokens(1));
    assert.ok(store.get('a'));
    // The entry keeps its id (its name) but now points at another server: the session must not follow.
    setEntries([{ name: 'A', id: 'a', url: 'https://evil.example.com/mcp' }]);
    await store.reconcile();
    assert.equal(store.get('a'), undefined);
    assert.match(
      store.problem('a') ?? '',
      /made for https:\/\/a\.example\.com\/mcp, not https:\/\/evil\.example\.com\/mcp; sign in again/,
    );
    assert.equal(changes.at(-1)?.kind, 'removed');
    assert.ok(
      secrets.values.has(SECRET_KEYS.tokens('a')),
      'the tokens are kept (the URL may be put back), just never used',
    );
  });

  it('binds a session stored before sessions recorded their URL by its resource, else not at all', async () => {
    const { store, secrets } = setUp();
    const { serverUrl: _a, ...legacyA } = tokens(1, { resource: 'https://a.example.com/mcp' });
    const { serverUrl: _b, ...legacyB } = tokens(2);
    secrets.fromAnotherWindow(SECRET_KEYS.tokens('a'), JSON.stringify(legacyA));
    secrets.fromAnotherWindow(SECRET_KEYS.tokens('b'), JSON.stringify(legacyB));
    await settle();
    assert.ok(store.get('a'), 'its resource names the entry URL');
    assert.equal(store.get('b'), undefined, 'nothing ties it to the entry URL');
    assert.match(store.problem('b') ?? '', /sign in again/);
  });

  it('reconcile rebuilds what the snapshot lacks and drops what SecretStorage no longer has', async () => {
    const { store, secrets } = setUp({
      a: {
        account: 'ghost',
        scopes: [],
        refreshable: true,
        issuer: 'x',
        clientId: 'c',
        registration: 'dcr',
        obtainedAt: 1,
      },
    });
    secrets.values.set(
      SECRET_KEYS.tokens('b'),
      JSON.stringify(tokens(2, { clientId: 'pre', serverUrl: 'https://b.example.com/mcp', registration: undefined })),
    );
    await store.reconcile();
    assert.deepEqual(Object.keys(store.all()), ['b']);
    assert.equal(
      store.get('b')?.registration,
      'preregistered',
      'worked out from the settings for a session that does not say',
    );
    assert.equal(store.get('b')?.account, 'user2@example.test');
  });

  it('keeps the account when new tokens carry no claims (an opaque token, no ID token)', async () => {
    const { store } = setUp();
    await store.tokens.set('a', tokens(1));
    await store.tokens.set('a', tokens(2, { accessToken: 'opaque' }));
    assert.equal(store.get('a')?.account, 'user1@example.test');
  });
});
