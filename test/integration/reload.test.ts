// Runs after the launcher reloads the window (a new extension host, the same profile): what the main run
// left behind must still be there, read back from SecretStorage and globalState.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activateExtension, waitFor } from './extensionHost';

describe('after a reload of the window', function () {
  this.timeout(60_000);

  it('still holds the device-code session, from SecretStorage, and lists the tools with it', async () => {
    const api = await activateExtension();
    // SecretStorage is the truth; the metadata copy in globalState may lag behind a reload (VS Code for the
    // web writes it back lazily), and is rebuilt from the stored tokens when it does.
    await waitFor('the device session', () => api.manager.sessions.get('device'), 10_000);
    const tokens = await api.manager.storedTokens('device');
    assert.ok(tokens?.refreshToken, 'the tokens survived in SecretStorage');
    const [session] = await api.authProvider.getSessions(['server:device']);
    assert.ok(session, 'the Accounts menu still has it');
    await api.manager.refreshTools('device');
    const view = api.manager.snapshot().servers.find((s) => s.entry.id === 'device')!;
    assert.deepEqual(
      view.tools?.map((t) => t.name).sort(),
      ['admin_action', 'whoami'],
      'the tools list with the stored token',
    );
  });

  it('follows what another window writes to SecretStorage: a refresh, then a sign-out', async () => {
    const api = await activateExtension();
    const secrets = (api.manager as unknown as { context: vscode.ExtensionContext }).context.secrets;
    const current = (await api.manager.storedTokens('device'))!;
    assert.ok(current.expiresAt, 'the fixture issues expiring tokens');
    // Another window refreshed: a later expiry. The metadata and the in-memory token copy both follow.
    const renewed = { ...current, expiresAt: current.expiresAt + 60_000 };
    await secrets.store('mcpOAuth.tokens/device', JSON.stringify(renewed));
    await waitFor(
      'the renewed session',
      () => api.manager.sessions.get('device')?.expiresAt === renewed.expiresAt || undefined,
      10_000,
    );
    assert.equal(
      (await api.manager.storedTokens('device'))?.expiresAt,
      renewed.expiresAt,
      'the token copy was re-read',
    );
    // Another window signed out.
    await secrets.delete('mcpOAuth.tokens/device');
    await waitFor('the session to go', () => (api.manager.sessions.get('device') ? undefined : true), 10_000);
    assert.equal(await api.manager.storedTokens('device'), undefined);
    assert.equal((await api.authProvider.getSessions(['server:device'])).length, 0, 'gone from the Accounts menu');
  });

  it('reports a damaged SecretStorage entry on its server only, and signing out resets it', async () => {
    const api = await activateExtension();
    // The extension's own SecretStorage (the manager keeps its context); what a damaged write would leave.
    const secrets = (api.manager as unknown as { context: vscode.ExtensionContext }).context.secrets;
    await secrets.store('mcpOAuth.tokens/device', '{"accessToken": 42, "truncated');
    const view = await waitFor(
      'the damaged entry in the tree',
      () => api.manager.snapshot().servers.find((s) => s.entry.id === 'device' && s.status === 'error'),
      10_000,
    );
    assert.match(view.error ?? '', /damaged/, 'the tree says what is wrong');
    const split = api.manager.snapshot().servers.find((s) => s.entry.id === 'split')!;
    assert.notEqual(split.status, 'error', 'the other server is unaffected');
    await vscode.commands.executeCommand('mcpOAuth.signOut', 'device');
    assert.equal(await secrets.get('mcpOAuth.tokens/device'), undefined, 'reset');
    assert.equal(api.manager.sessions.get('device'), undefined);
    assert.notEqual(api.manager.snapshot().servers.find((s) => s.entry.id === 'device')!.status, 'error');
  });
});
