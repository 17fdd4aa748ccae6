// Property 13, in a real VS Code: an authorization code may hold any visible ASCII character (RFC 6749 §A.11),
// `+`, `&`, `#` and `%` included. The launcher's peers include an authorization server whose codes end in all of
// them; signing in through the URI handler, where VS Code hands the extension the callback's query (decoded
// already on the desktop, re-encoded by VS Code for the web's callback page), must redeem the code as issued.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activateExtension, waitFor } from './extensionHost';

const AWKWARD = process.env.MCP_OAUTH_TEST_MCP_AWKWARD!;

describe('authorization codes survive the URI handler (security property 13)', function () {
  this.timeout(90_000);

  it('signs in through the URI handler with an AS whose codes hold + & # %', async () => {
    assert.ok(AWKWARD, 'the launcher started the awkward-code peers');
    const api = await activateExtension();
    const config = vscode.workspace.getConfiguration('mcpOAuth');
    const configured = config.get<unknown[]>('servers') ?? [];
    const entry = { name: 'Awkward', id: 'awkward', url: AWKWARD, auth: { redirect: 'uriHandler' } };
    await config.update('servers', [...configured, entry], vscode.ConfigurationTarget.Global);
    try {
      await waitFor('the entry', () => api.manager.entry('awkward'));
      const tokens = await api.manager.signIn('awkward');
      assert.ok(tokens?.accessToken, 'the code was redeemed as the AS issued it');
      assert.ok(api.manager.sessions.get('awkward'));
    } finally {
      await api.manager.signOut('awkward').catch(() => undefined);
      await config.update('servers', configured, vscode.ConfigurationTarget.Global);
    }
  });
});
