import assert from 'node:assert/strict';
import type * as vscode from 'vscode';
import type { ServerEntry } from '../../src/vscode/model/serverConfig';
import { parseServers } from '../../src/vscode/model/serverConfig';
import { CachedTokenStore } from '../../src/oauth/tokens/cachedTokenStore';
import { McpOAuthError } from '../../src/oauth/errors';
import { nullLogger } from '../../src/oauth/http/logger';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import type { SessionInfo } from '../../src/vscode/serverState';
import { SessionList, sessionInfo } from '../../src/vscode/sessionList';

/**
 * The sessions' metadata in the extension (src/vscode/sessionList.ts, which needs no running VS Code): it
 * follows SecretStorage, is rebuilt from it when the globalState copy is behind, and never has two
 * globalState writes in flight (VS Code would undo the later one).
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
  obtainedAt: 0,
  ...patch,
});

/** globalState: each update takes a while, and the test fails if a second one starts before the first ended. */
class SlowMemento implements vscode.Memento {
  value: Record<string, unknown> = {};
  inFlight = 0;
  writes = 0;
  overlapped = false;
  constructor(initial?: Record<string, SessionInfo>) {
    if (initial) this.value['mcpOAuth.sessions'] = initial;
  }
  keys(): readonly string[] {
    return Object.keys(this.value);
  }
  get<T>(key: string, fallback?: T): T {
    return (this.value[key] as T) ?? (fallback as T);
  }
  async update(key: string, value: unknown): Promise<void> {
    if (this.inFlight) this.overlapped = true;
    this.inFlight++;
    await new Promise((r) => setTimeout(r, 2));
    this.value[key] = JSON.parse(JSON.stringify(value));
    this.writes++;
    this.inFlight--;
  }
  get saved(): Record<string, SessionInfo> {
    return (this.value['mcpOAuth.sessions'] ?? {}) as Record<string, SessionInfo>;
  }
}

/** The token store behind the cache, counting reads, each of which can be made slow. */
class CountingStore extends MemoryTokenStore {
  reads = 0;
  delayMs = 0;
  failing: string | undefined;
  override async get(key: string): Promise<TokenSet | undefined> {
    this.reads++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (key === this.failing)
      throw new McpOAuthError(
        'storage_error',
        `The stored session for "${key}" is damaged; sign out of it (or sign in again) to reset it`,
      );
    return super.get(key);
  }
}

function setUp(initial?: Record<string, SessionInfo>) {
  const memento = new SlowMemento(initial);
  const backing = new CountingStore();
  const store = new CachedTokenStore(backing);
  const changes: string[] = [];
  const errors: [string, string][] = [];
  const entries: readonly ServerEntry[] = parseServers([
    { name: 'A', id: 'a', url: 'https://a.example.com/mcp' },
    { name: 'B', id: 'b', url: 'https://b.example.com/mcp', auth: { clientId: 'pre' } },
  ]).servers;
  const list = new SessionList({
    memento,
    tokens: store,
    logger: nullLogger,
    entries: () => entries,
    onDidChange: (id) => changes.push(id),
    onReadError: (id, m) => errors.push([id, m]),
  });
  return { memento, backing, store, list, changes, errors };
}

describe('SessionList', () => {
  it('starts from the globalState copy', () => {
    const { list } = setUp({ a: sessionInfo(tokens(1), 'dcr') });
    assert.equal(list.all().a?.account, 'user1@example.test');
  });

  it('keeps every change of a burst, with one globalState write at a time, and the last write is the state', async () => {
    const { memento, list } = setUp();
    const saves: Promise<void>[] = [];
    for (let n = 0; n < 20; n++) saves.push(list.save(n % 2 ? 'a' : 'b', sessionInfo(tokens(n), 'dcr')));
    saves.push(list.save('c', sessionInfo(tokens(99), 'dcr')), list.save('c', undefined));
    await Promise.all(saves);
    assert.equal(memento.overlapped, false, 'never two updates in flight');
    assert.ok(memento.writes < 5, `a burst shares writes: ${memento.writes} for 22 changes`);
    assert.deepEqual(memento.saved, list.all());
    assert.deepEqual(Object.keys(list.all()).sort(), ['a', 'b']);
    assert.equal(list.all().a?.expiresAt, 1_019);
    assert.equal(list.all().b?.expiresAt, 1_018);
  });

  it('tells the host of each change at once, before the write', async () => {
    const { list, changes, memento } = setUp();
    const saving = list.save('a', sessionInfo(tokens(1), 'dcr'));
    assert.deepEqual(changes, ['a']);
    assert.equal(memento.writes, 0);
    await saving;
    assert.equal(memento.writes, 1);
  });

  it('re-reads the tokens once more after changes that came during a read, and ends on the newest', async () => {
    const { backing, list } = setUp();
    backing.delayMs = 5;
    await backing.set('a', tokens(1));
    const first = list.sync('a');
    for (let n = 2; n <= 10; n++) {
      await backing.set('a', tokens(n));
      void list.sync('a');
    }
    await first;
    assert.equal(list.all().a?.expiresAt, 1_010, 'the newest tokens');
    assert.ok(backing.reads <= 3, `coalesced: ${backing.reads} reads for 10 changes`);
  });

  it('drops the session when the tokens are gone (signed out in another window)', async () => {
    const { list } = setUp({ a: sessionInfo(tokens(1), 'dcr') });
    await list.sync('a');
    assert.equal(list.all().a, undefined);
  });

  it('reports a damaged entry to the host and keeps the metadata', async () => {
    const { backing, list, errors } = setUp({ a: sessionInfo(tokens(1), 'dcr') });
    backing.failing = 'a';
    await list.sync('a');
    assert.deepEqual(
      errors.map(([id]) => id),
      ['a'],
    );
    assert.match(errors[0]![1], /damaged/);
    assert.ok(list.all().a);
  });

  it('reconcile rebuilds what the globalState copy lacks and drops what SecretStorage no longer has', async () => {
    const { backing, list, memento } = setUp({ a: sessionInfo(tokens(1), 'dcr') });
    await backing.set('b', tokens(2, { clientId: 'pre' }));
    await list.reconcile();
    assert.deepEqual(Object.keys(list.all()), ['b']);
    assert.equal(list.all().b?.registration, 'preregistered', 'worked out from the settings');
    assert.equal(list.all().b?.account, 'user2@example.test');
    assert.deepEqual(memento.saved, list.all());
  });

  it('reconcile reads each server once when all agree, and changes nothing', async () => {
    const { backing, list, memento, changes } = setUp({ a: sessionInfo(tokens(1), 'dcr') });
    await backing.set('a', tokens(1));
    await list.reconcile();
    assert.equal(backing.reads, 2, 'a and b');
    assert.deepEqual(changes, []);
    assert.equal(memento.writes, 0);
  });

  it('keeps the registration method it knew for the same client, and the account when new tokens carry no claims', async () => {
    const { backing, list } = setUp({ a: sessionInfo(tokens(1), 'imported') });
    await backing.set('a', tokens(2, { accessToken: 'opaque' }));
    await list.sync('a');
    assert.equal(list.all().a?.registration, 'imported');
    assert.equal(list.all().a?.account, 'user1@example.test');
  });
});

describe('SessionList under changes that keep coming while it writes', () => {
  it('never overlaps writes, and each save resolves only once a write that includes it has ended', async () => {
    const { memento, list } = setUp();
    for (let n = 0; n < 30; n++) {
      const saving = list.save(`s${n % 3}`, sessionInfo(tokens(n), 'dcr'));
      if (n % 4 === 0) {
        await saving;
        assert.equal(memento.saved[`s${n % 3}`]?.expiresAt, 1_000 + n, `save ${n} is stored once it resolves`);
      } else {
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    await list.save('s0', list.all().s0);
    assert.equal(memento.overlapped, false);
    assert.deepEqual(memento.saved, list.all());
  });
});
