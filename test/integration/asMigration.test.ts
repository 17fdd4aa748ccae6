// Authorization-server migration (SEP-2352) in a real VS Code: VS Code's MCP client (here an SDK client
// pointed at the gateway as VS Code's would be) uses a server that then moves to another authorization server.
// The gateway's 401 leads the extension to read the server's metadata again and say so ("… moved to a new
// authorization server: sign in again", in a notification and in the tree); the sign-in it offers registers
// at the new authorization server, and the calls work again.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as vscode from 'vscode';
import { activateExtension, waitFor } from './extensionHost';

const MOVING = process.env.MCP_OAUTH_TEST_MOVING!;
const NEW_AS = process.env.MCP_OAUTH_TEST_AS_AWKWARD!;
const ADMIN = process.env.MCP_OAUTH_TEST_PEERS_ADMIN!;

async function whoami(url: string, headers: Record<string, string>): Promise<string> {
  const client = new Client({ name: 'vscode-like', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    const text = (result.content as { text?: string }[]).map((c) => c.text ?? '').join('');
    return result.isError ? `error: ${text}` : text;
  } finally {
    await client.close();
  }
}

describe('authorization-server migration in a real VS Code (SEP-2352)', function () {
  this.timeout(90_000);

  it('names the move after the gateway’s 401, and the sign-in it offers goes to the new authorization server', async () => {
    assert.ok(MOVING && NEW_AS && ADMIN, 'the launcher started the moving server');
    const api = await activateExtension();
    const config = vscode.workspace.getConfiguration('mcpOAuth');
    const configured = config.get<unknown[]>('servers') ?? [];
    await config.update(
      'servers',
      [...configured, { name: 'Moving', id: 'moving', url: MOVING }],
      vscode.ConfigurationTarget.Global,
    );
    try {
      await waitFor('the entry', () => api.manager.entry('moving'));
      await api.manager.signIn('moving');
      const before = (await api.manager.storedTokens('moving'))!;
      const definition = (await api.mcpProvider.provideMcpServerDefinitions()).find((d) => d.label === 'Moving')!;
      const resolved = (await api.mcpProvider.resolveMcpServerDefinition(definition)) as vscode.McpHttpServerDefinition;
      const headers = resolved.headers as Record<string, string>;
      assert.match(await whoami(resolved.uri.toString(), headers), /alice/);

      assert.equal((await fetch(`${ADMIN}/move`, { method: 'POST' })).status, 204);
      await whoami(resolved.uri.toString(), headers).catch(() => 'refused'); // the gateway answers sign-in required
      const view = await waitFor('the tree to name the move', () => {
        const server = api.manager.snapshot().servers.find((s) => s.entry.id === 'moving');
        return server?.error?.includes('moved to a new authorization server') ? server : undefined;
      });
      assert.equal(view.error, 'Moving moved to a new authorization server: sign in again');

      // What "Sign In" in the notification does.
      await api.manager.signIn('moving');
      const after = (await api.manager.storedTokens('moving'))!;
      assert.equal(new URL(after.issuer).origin, new URL(NEW_AS).origin, 'signed in at the new authorization server');
      assert.notEqual(after.clientId, before.clientId, 'with a client registered there');
      assert.match(await whoami(resolved.uri.toString(), headers), /alice/, 'the calls work again');
    } finally {
      await api.manager.signOut('moving').catch(() => undefined);
      await config.update('servers', configured, vscode.ConfigurationTarget.Global);
    }
  });
});
