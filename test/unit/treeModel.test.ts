import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  displayStatus,
  formatDuration,
  oneLine,
  schemaText,
  serverContextValue,
  serverDescription,
  statusIcon,
  timeLeft,
  tokenDescription,
  type DisplayStatus,
  type ServerSummary,
} from '../../src/vscode/model/treeModel';
import type { SessionInfo } from '../../src/vscode/model/sessionInfo';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const MIN = 60_000;

function session(overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    account: 'alice@example.test',
    scopes: ['mcp:read', 'mcp:write'],
    expiresAt: NOW + 42 * MIN,
    refreshable: true,
    issuer: 'https://as.example.test',
    clientId: 'client-1',
    registration: 'dcr',
    obtainedAt: NOW - MIN,
    ...overrides,
  };
}

describe('treeModel', () => {
  describe('formatDuration', () => {
    const table: [number, string][] = [
      [0, '<1 min'],
      [59_999, '<1 min'],
      [MIN, '1 min'],
      [42 * MIN + 30_000, '42 min'],
      [60 * MIN, '1 h'],
      [185 * MIN, '3 h 5 min'],
      [24 * 60 * MIN, '1 d'],
      [(2 * 24 + 4) * 60 * MIN + 5 * MIN, '2 d 4 h'],
    ];
    for (const [ms, text] of table) it(`${ms} ms → ${text}`, () => assert.equal(formatDuration(ms), text));
  });

  describe('timeLeft', () => {
    it('is undefined without an expiry', () => assert.equal(timeLeft(undefined, NOW), undefined));
    it('says expired at and after the expiry', () => {
      assert.equal(timeLeft(NOW, NOW), 'expired');
      assert.equal(timeLeft(NOW - 1, NOW), 'expired');
    });
    it('counts down before it', () => assert.equal(timeLeft(NOW + 42 * MIN, NOW), '42 min'));
    it('ignores a non-finite expiry', () => assert.equal(timeLeft(Number.NaN, NOW), undefined));
  });

  describe('displayStatus, contextValue, icon and description', () => {
    const table: [string, ServerSummary, DisplayStatus, string, string][] = [
      [
        'signed in',
        { status: 'signedIn', session: session() },
        'signedIn',
        'server.signedIn.session',
        'alice@example.test · 42 min',
      ],
      [
        'signed in without expiry',
        { status: 'signedIn', session: session({ expiresAt: undefined }) },
        'signedIn',
        'server.signedIn.session',
        'alice@example.test',
      ],
      [
        'expired but refreshable',
        { status: 'signedIn', session: session({ expiresAt: NOW - MIN }) },
        'signedIn',
        'server.signedIn.session',
        'alice@example.test · expired, renews on use',
      ],
      [
        'expired, not refreshable',
        { status: 'signedIn', session: session({ expiresAt: NOW - MIN, refreshable: false }) },
        'expired',
        'server.expired.session',
        'alice@example.test · expired',
      ],
      [
        'reported expired',
        { status: 'signedIn', session: session(), tokenState: 'expired' },
        'expired',
        'server.expired.session',
        'alice@example.test · expired',
      ],
      [
        'stale',
        { status: 'signedIn', session: session(), tokenState: 'stale' },
        'stale',
        'server.stale.session',
        'alice@example.test · 42 min · offline',
      ],
      ['signed out', { status: 'signedOut' }, 'signedOut', 'server.signedOut', 'signed out'],
      ['connecting', { status: 'connecting' }, 'connecting', 'server.connecting', 'connecting…'],
      [
        'error, no session',
        { status: 'error', error: 'the tool listing failed\nsecond line' },
        'error',
        'server.error',
        'error: the tool listing failed',
      ],
      [
        'error with a session',
        { status: 'error', error: 'x', session: session() },
        'error',
        'server.error.session',
        'alice@example.test · 42 min · error',
      ],
    ];
    for (const [what, server, status, contextValue, description] of table) {
      it(what, () => {
        assert.equal(displayStatus(server, NOW), status);
        assert.equal(serverContextValue(server, NOW), contextValue);
        assert.equal(serverDescription(server, NOW), description);
        assert.ok(statusIcon(status));
      });
    }

    it('keeps the contextValues the package.json menus match', () => {
      const hasSession = /^server\..*\.session$/;
      const needsSignIn = /^server\.(signedOut|expired|error)(\.session)?$/;
      const live = /^server\.(signedIn|stale|error)\.session$/;
      for (const [, server, , contextValue] of table) {
        assert.equal(hasSession.test(contextValue), !!server.session, contextValue);
        const status = displayStatus(server, NOW);
        assert.equal(
          needsSignIn.test(contextValue),
          status === 'signedOut' || status === 'expired' || status === 'error',
          contextValue,
        );
        assert.equal(
          live.test(contextValue),
          !!server.session && (status === 'signedIn' || status === 'stale' || status === 'error'),
          contextValue,
        );
      }
    });
  });

  describe('tokenDescription', () => {
    it('says time left, refreshability and the number of scopes', () => {
      assert.equal(tokenDescription(session(), NOW), '42 min left · refreshable · 2 scopes');
      assert.equal(
        tokenDescription(session({ expiresAt: undefined, refreshable: false, scopes: ['a'] }), NOW),
        'no expiry · not refreshable · 1 scope',
      );
      assert.equal(tokenDescription(session({ expiresAt: NOW - 1 }), NOW), 'expired · refreshable · 2 scopes');
    });
  });

  describe('text bounds', () => {
    it('oneLine keeps the first line and bounds it', () => {
      assert.equal(oneLine('  first  \nsecond'), 'first');
      assert.equal(oneLine('x'.repeat(200), 10), `${'x'.repeat(9)}…`);
    });

    it('schemaText indents and bounds a schema', () => {
      assert.equal(schemaText({ type: 'object' }), '{\n  "type": "object"\n}');
      assert.equal(schemaText(undefined), '{}');
      const big = schemaText(
        { properties: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`p${i}`, { type: 'string' }])) },
        100,
      );
      assert.ok(big.length <= 102 && big.endsWith('…'));
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      assert.equal(schemaText(cyclic), '(the schema cannot be shown)');
    });
  });

  it('describes 200 servers × 100 tools quickly', () => {
    const servers: ServerSummary[] = Array.from({ length: 200 }, (_, i) => ({
      status: 'signedIn',
      session: session({ account: `user${i}@example.test` }),
    }));
    const tools = Array.from({ length: 100 }, (_, i) => ({
      name: `tool${i}`,
      description: `Does thing ${i}.\nMore.`,
      inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
    }));
    const started = performance.now();
    let chars = 0;
    for (const server of servers) {
      chars +=
        serverDescription(server, NOW).length +
        serverContextValue(server, NOW).length +
        tokenDescription(server.session!, NOW).length;
      for (const tool of tools) chars += oneLine(tool.description).length + schemaText(tool.inputSchema).length;
    }
    const elapsed = performance.now() - started;
    assert.ok(chars > 0);
    assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
  });

  describe('package.json', () => {
    const root = resolve(__dirname, '..', '..');
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    const nls = JSON.parse(readFileSync(resolve(root, 'package.nls.json'), 'utf8'));
    const menus: { command: string; when: string; group?: string }[] = pkg.contributes.menus['view/item/context'];

    /** The commands the row's menu (or its inline actions) offers for a contextValue. */
    function offered(contextValue: string, inline: boolean): Set<string> {
      const found = new Set<string>();
      for (const menu of menus) {
        if (inline !== (menu.group ?? '').startsWith('inline')) continue;
        const regex = /viewItem =~ \/(.+)\/$/.exec(menu.when);
        const equal = /viewItem == (\S+)$/.exec(menu.when);
        assert.ok(menu.when.startsWith('view == mcpOAuth.servers && '), menu.when);
        if ((regex && new RegExp(regex[1]!).test(contextValue)) || equal?.[1] === contextValue)
          found.add(menu.command.replace('mcpOAuth.', ''));
      }
      return found;
    }

    it('offers the session commands on a server row exactly when it has a session', () => {
      const cases: [string, boolean][] = [
        ['server.signedIn.session', true],
        ['server.stale.session', true],
        ['server.expired.session', true],
        ['server.error.session', true],
        ['server.connecting.session', true],
        ['server.signedOut', false],
        ['server.connecting', false],
        ['server.error', false],
      ];
      for (const [contextValue, hasSession] of cases) {
        const menu = offered(contextValue, false);
        for (const command of [
          'signIn',
          'signInWithDeviceCode',
          'importToken',
          'resetClientRegistration',
          'removeServer',
        ])
          assert.ok(menu.has(command), `${contextValue}: ${command}`);
        for (const command of ['signOut', 'refreshToken', 'copyAccessToken', 'showTokenDetails', 'refresh'])
          assert.equal(menu.has(command), hasSession, `${contextValue}: ${command}`);
      }
    });

    it('puts Sign In inline on the rows that need it, and Refresh on the live ones', () => {
      const cases: [string, string[]][] = [
        ['server.signedIn.session', ['refresh']],
        ['server.stale.session', ['refresh']],
        ['server.error.session', ['signIn', 'refresh']],
        ['server.expired.session', ['signIn']],
        ['server.signedOut', ['signIn']],
        ['server.error', ['signIn']],
        ['server.connecting', []],
        ['token', ['copyAccessToken', 'showTokenDetails']],
        ['tools', ['refresh']],
        ['invalidEntry', ['openSettings']],
        ['tool', []],
      ];
      for (const [contextValue, inline] of cases)
        assert.deepEqual([...offered(contextValue, true)].sort(), [...inline].sort(), contextValue);
    });

    it("contributes the commands of the README's command table with their titles, in one category", () => {
      const titles: Record<string, string> = {
        addServer: 'Add Server…',
        removeServer: 'Remove Server',
        signIn: 'Sign In…',
        signInWithDeviceCode: 'Sign In with Device Code…',
        signOut: 'Sign Out',
        importToken: 'Import Token…',
        refreshToken: 'Refresh Token',
        copyAccessToken: 'Copy Access Token',
        showTokenDetails: 'Show Token Details',
        resetClientRegistration: 'Reset Client Registration',
        refresh: 'Refresh',
        showLog: 'Show Log',
      };
      const commands: { command: string; title: string; category: string }[] = pkg.contributes.commands;
      for (const [id, title] of Object.entries(titles)) {
        const command = commands.find((c) => c.command === `mcpOAuth.${id}`);
        assert.ok(command, `mcpOAuth.${id} is not contributed`);
        assert.equal(nls[command.title.replace(/^%|%$/g, '')], title);
      }
      for (const command of commands) {
        assert.equal(command.category, '%category%');
        assert.ok(nls[command.title.replace(/^%|%$/g, '')], `${command.command} has no title in package.nls.json`);
      }
      const hidden = (pkg.contributes.menus.commandPalette as { command: string; when: string }[])
        .filter((m) => m.when === 'false')
        .map((m) => m.command);
      for (const id of Object.keys(titles))
        assert.ok(!hidden.includes(`mcpOAuth.${id}`), `mcpOAuth.${id} is hidden from the palette`);
    });
  });
});
