// Runs after the launcher reloads the window (a new extension host, the same profile): what the main run
// left behind must still be there, read back from SecretStorage and globalState.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { McpOAuthApi } from '../../src/extension';

describe('after a reload of the window', function () {
  this.timeout(60_000);

  it('still holds the device-code session, from SecretStorage, and lists the tools with it', async () => {
    const api = (await vscode.extensions.getExtension('mcp-oauth.mcp-oauth')!.activate()) as McpOAuthApi;
    assert.ok(api.manager.sessions().device, 'the session metadata survived');
    const tokens = await api.manager.storedTokens('device');
    assert.ok(tokens?.refreshToken, 'the tokens survived in SecretStorage');
    const [session] = await api.authProvider.getSessions(['server:device']);
    assert.ok(session, 'the Accounts menu still has it');
    await api.manager.refreshTools('device');
    const view = api.manager.snapshot().servers.find((s) => s.entry.id === 'device')!;
    assert.deepEqual(view.tools?.map((t) => t.name).sort(), ['admin_action', 'whoami'], 'the tools list with the stored token');
  });
});
