// The extension in a real VS Code (code-server), against a real oidc-provider and an SDK-built MCP server
// started by the launcher (test/integration/peers.ts). The launcher's scripted user approves the pages the
// extension opens in the browser, and clicks "Copy & Open" for the device code, as a person would.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as vscode from 'vscode';
import type { McpOAuthApi } from '../../src/extension';
import { recordSecrets } from './secretsSeen';
import { activateExtension, waitFor } from './extensionHost';

const AS = process.env.MCP_OAUTH_TEST_AS!;
const MCP = process.env.MCP_OAUTH_TEST_MCP!;
/** Every token value seen; the launcher searches the logs, settings and state for them after the run. */
const secrets = new Set<string>();

const PUBLIC_COMMANDS = [
  'addServer',
  'removeServer',
  'signIn',
  'signInWithDeviceCode',
  'signOut',
  'importToken',
  'refreshToken',
  'copyAccessToken',
  'showTokenDetails',
  'resetClientRegistration',
  'refresh',
  'showLog',
].map((c) => `mcpOAuth.${c}`);

function waitForEvent(event: vscode.Event<unknown>, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error('timed out waiting for the event'));
    }, ms);
    const sub = event(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve();
    });
  });
}

async function remember(api: McpOAuthApi, id: string): Promise<void> {
  const tokens = await api.manager.storedTokens(id);
  for (const value of [tokens?.accessToken, tokens?.refreshToken, tokens?.idToken]) if (value) secrets.add(value);
}

async function callWhoami(url: string, headers: Record<string, string>): Promise<string> {
  const client = new Client({ name: 'integration-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return (result.content as { text?: string }[]).map((c) => c.text ?? '').join('');
  } finally {
    await client.close();
  }
}

describe('MCP OAuth in a real VS Code, against real peers', function () {
  this.timeout(120_000);
  let api: McpOAuthApi;

  before(async () => {
    assert.ok(AS && MCP, 'the launcher started the peers');
    api = await activateExtension();
  });

  after(() => recordSecrets(secrets));

  it('registers every public command, the authentication provider and the MCP definitions', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const command of PUBLIC_COMMANDS) assert.ok(commands.includes(command), `${command} is registered`);
    assert.equal(await vscode.authentication.getSession('mcp-oauth', ['server:split'], { silent: true }), undefined);
    const definitions = await api.mcpProvider.provideMcpServerDefinitions();
    assert.deepEqual(
      definitions.map((d) => d.label),
      ['Split', 'Device', 'DPoP', 'Enterprise'],
      'provided without prompting',
    );
  });

  it('reports the malformed settings entry by name and keeps the others working', () => {
    const { servers, invalid } = api.manager.snapshot();
    assert.deepEqual(
      servers.map((s) => s.entry.id),
      ['split', 'device', 'dpop', 'enterprise'],
    );
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0]!.label, 'Broken');
    const labels = api.tree.provider.getChildren().map((node) => String(api.tree.provider.getTreeItem(node).label));
    assert.deepEqual(labels, ['Split', 'Device', 'DPoP', 'Enterprise', 'Broken']);
  });

  it('signs in through the browser and the URI-handler callback', async () => {
    await vscode.commands.executeCommand('mcpOAuth.signIn', 'split');
    const session = await waitFor('the session', () => api.manager.sessions.get('split'));
    assert.equal(session.account, 'alice@example.test');
    assert.ok(session.refreshable);
    await remember(api, 'split');
    const [vsSession] = await api.authProvider.getSessions(['server:split']);
    assert.ok(vsSession, 'the authentication provider (the Accounts menu) has the session');
    assert.match(vsSession.account.label, /alice@example\.test/);
    const accounts = await vscode.authentication.getAccounts('mcp-oauth');
    assert.ok(
      accounts.some((a) => /alice@example\.test/.test(a.label)),
      `VS Code lists the account: ${JSON.stringify(accounts.map((a) => a.label))}`,
    );
  });

  it('resolves the server to the token gateway, and a tool call works before and after a forced token expiry', async () => {
    const [split] = await api.mcpProvider.provideMcpServerDefinitions();
    const resolved = (await api.mcpProvider.resolveMcpServerDefinition(split!)) as vscode.McpHttpServerDefinition;
    assert.ok(resolved instanceof vscode.McpHttpServerDefinition);
    assert.equal(resolved.uri.authority.split(':')[0], '127.0.0.1', 'VS Code is pointed at the gateway');
    assert.notEqual(resolved.uri.toString(), MCP, 'never at the server itself');
    const headers = resolved.headers as Record<string, string>;
    assert.match(await callWhoami(resolved.uri.toString(), headers), /alice/);

    const before = (await api.manager.sessions.tokens.get('split'))!;
    await api.manager.sessions.tokens.set('split', {
      ...before,
      accessToken: 'expired-token-xyz',
      expiresAt: Date.now() - 1000,
    });
    assert.match(
      await callWhoami(resolved.uri.toString(), headers),
      /alice/,
      'works again after the expiry, with no prompt',
    );
    const after = (await api.manager.sessions.tokens.get('split'))!;
    assert.notEqual(after.accessToken, before.accessToken, 'the gateway refreshed');
    await remember(api, 'split');
  });

  it('shows the account, the token, the authorization server and the tools in the tree', async () => {
    await api.manager.refreshTools('split');
    api.tree.refresh(); // the view re-reads the model 30 ms after a change; not worth waiting for here
    const provider = api.tree.provider;
    const server = provider.getChildren().find((node) => provider.getTreeItem(node).label === 'Split')!;
    const serverItem = provider.getTreeItem(server);
    assert.match(String(serverItem.description), /alice@example\.test/);
    const children = provider.getChildren(server).map((node) => provider.getTreeItem(node));
    const labels = children.map((item) => String(item.label));
    assert.deepEqual(labels, ['Account', 'Token', 'Authorization Server', 'Tools (2)']);
    const toolNodes = provider.getChildren(provider.getChildren(server)[3]);
    assert.deepEqual(toolNodes.map((node) => String(provider.getTreeItem(node).label)).sort(), [
      'admin_action',
      'whoami',
    ]);
    // Rich tooltips are built on hover (resolveTreeItem), not for every row.
    const whoami = toolNodes.find((node) => provider.getTreeItem(node).label === 'whoami')!;
    const item = provider.getTreeItem(whoami);
    assert.equal(item.tooltip, undefined);
    const tooltip = provider.resolveTreeItem(item, whoami).tooltip as vscode.MarkdownString;
    assert.match(tooltip.value, /\*\*whoami\*\*/);
    assert.match(tooltip.value, /```json/, 'with the input schema');
    const serverTooltip = provider.resolveTreeItem(provider.getTreeItem(server), server)
      .tooltip as vscode.MarkdownString;
    assert.match(serverTooltip.value, /alice@example\\?\.test/);
  });

  it('signs in with a device code (Copy & Open, approved in the browser)', async () => {
    // Notification toasts are not shown while extension tests run: open the list, where the user clicks.
    setTimeout(() => void vscode.commands.executeCommand('notifications.showList'), 1500);
    await vscode.commands.executeCommand('mcpOAuth.signInWithDeviceCode', 'device');
    const session = await waitFor('the device session', () => api.manager.sessions.get('device'), 60_000);
    assert.equal(session.registration, 'preregistered');
    await remember(api, 'device');
  });

  it('keeps every session in globalState when sessions change at once (a burst of refreshes on two servers)', async () => {
    for (let round = 0; round < 3; round++) {
      await Promise.all([api.manager.refreshToken('split'), api.manager.refreshToken('device')]);
      await Promise.all([remember(api, 'split'), remember(api, 'device')]);
    }
    const globalState = (api.manager as unknown as { context: vscode.ExtensionContext }).context.globalState;
    await waitFor(
      'the last write',
      async () => {
        const expected = Object.fromEntries(
          await Promise.all(
            ['split', 'device'].map(async (id) => [id, (await api.manager.storedTokens(id))?.expiresAt]),
          ),
        );
        const saved = globalState.get<Record<string, { expiresAt?: number }>>('mcpOAuth.sessions') ?? {};
        const ok = ['split', 'device'].every(
          (id) =>
            saved[id] &&
            saved[id]!.expiresAt === expected[id] &&
            api.manager.sessions.get(id)?.expiresAt === expected[id],
        );
        return ok || undefined;
      },
      5_000,
    );
  });

  it('gives a stdio server its token in tokenEnv only as it starts (never in a provided definition), and provides it again when the token changes (security property 3)', async () => {
    const config = vscode.workspace.getConfiguration('mcpOAuth');
    const configured = config.get<unknown[]>('servers') ?? [];
    const stdio = {
      name: 'Stdio',
      id: 'stdio',
      transport: 'stdio',
      command: process.execPath,
      args: ['server.js'],
      url: MCP,
      tokenEnv: 'MCP_TOKEN',
      env: { KEEP: '1' },
    };
    await config.update('servers', [...configured, stdio], vscode.ConfigurationTarget.Global);
    try {
      await waitFor('the stdio entry', () => api.manager.entry('stdio'));
      const stdioDefinition = async () =>
        (await api.mcpProvider.provideMcpServerDefinitions()).find(
          (d) => d.label === 'Stdio',
        ) as vscode.McpStdioServerDefinition;
      assert.equal((await stdioDefinition()).env.MCP_TOKEN, undefined, 'no token before a session');
      // A session for it (the device session's tokens, for the same server URL), stored as a sign-in would.
      const tokens = (await api.manager.sessions.tokens.get('device'))!;
      let changed = waitForEvent(api.mcpProvider.onDidChangeMcpServerDefinitions);
      await api.manager.sessions.tokens.set('stdio', tokens);
      await changed;
      const first = await stdioDefinition();
      assert.equal(first.command, process.execPath);
      assert.deepEqual(first.args, ['server.js']);
      assert.equal(first.env.KEEP, '1');
      assert.equal(first.env.MCP_TOKEN, undefined, 'a provided definition never holds the token (VS Code may keep it)');
      const started = (await api.mcpProvider.resolveMcpServerDefinition(first)) as vscode.McpStdioServerDefinition;
      assert.equal(started.env.MCP_TOKEN, tokens.accessToken, 'the token goes in only as VS Code starts the server');
      assert.equal(started.env.KEEP, '1');
      // A new token (a refresh, here or in another window): VS Code is told, and gets the new one.
      const renewed = {
        ...tokens,
        accessToken: 'renewed-access-token-for-stdio',
        expiresAt: (tokens.expiresAt ?? Date.now()) + 60_000,
        obtainedAt: tokens.obtainedAt + 1,
      };
      changed = waitForEvent(api.mcpProvider.onDidChangeMcpServerDefinitions);
      await api.manager.sessions.tokens.set('stdio', renewed);
      await changed;
      const second = await stdioDefinition();
      assert.equal(second.env.MCP_TOKEN, undefined);
      assert.notEqual(second.version, first.version, 'a new version, so VS Code restarts the server');
      const restarted = (await api.mcpProvider.resolveMcpServerDefinition(second)) as vscode.McpStdioServerDefinition;
      assert.equal(restarted.env.MCP_TOKEN, renewed.accessToken);
    } finally {
      await api.manager.sessions.tokens.delete('stdio'); // locally only: the tokens are the device session's
      await config.update('servers', configured, vscode.ConfigurationTarget.Global);
    }
    await waitFor('the stdio entry to go', () => (api.manager.entry('stdio') ? undefined : true));
    assert.ok(api.manager.sessions.get('device'), 'the device session is untouched');
  });

  it('signs out, revoking the refresh token at the authorization server', async () => {
    const tokens = (await api.manager.storedTokens('split'))!;
    await vscode.commands.executeCommand('mcpOAuth.signOut', 'split');
    assert.equal(api.manager.sessions.get('split'), undefined);
    assert.equal(await api.manager.storedTokens('split'), undefined);
    const response = await fetch(`${AS}/token/introspection`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('fixture-introspector:fixture-introspector-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: tokens.refreshToken! }),
    });
    assert.equal(((await response.json()) as { active: boolean }).active, false, 'the refresh token is revoked');
  });
});
