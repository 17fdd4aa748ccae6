// DPoP (RFC 9449) in a real VS Code (code-server), through the token gateway, by VS Code's own MCP client:
// the extension signs in to the peers' DPoP server (auto: its challenge asks for DPoP), VS Code starts the
// server (workbench.mcp.startServer), lists its tools in vscode.lm.tools and calls one with vscode.lm.invokeTool,
// as Copilot agent mode would. VS Code sends plain requests to the gateway; the DPoP server sees DPoP-bound tokens
// with a fresh proof on each, its nonce answered. Runs after extension.test.ts (file order), whose sessions it
// leaves alone.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { McpOAuthApi } from '../../src/extension';
import type { PeersState } from './peers';
import { activateExtension, waitFor } from './extensionHost';
import { recordSecrets } from './secretsSeen';

const DPOP = process.env.MCP_OAUTH_TEST_DPOP!;
const ADMIN = process.env.MCP_OAUTH_TEST_PEERS_ADMIN!;
/** Every token and key value seen; the launcher searches the logs, settings and state for them after the run. */
const secrets = new Set<string>();

const peersState = async (): Promise<PeersState> => (await (await fetch(`${ADMIN}/state`)).json()) as PeersState;

describe('DPoP in a real VS Code, through the token gateway, by VS Code’s own MCP client', function () {
  this.timeout(180_000);
  let api: McpOAuthApi;

  before(async () => {
    assert.ok(DPOP && ADMIN, 'the launcher started the peers, the DPoP server among them');
    api = await activateExtension();
  });

  after(() => recordSecrets(secrets));

  it('signs in with DPoP: the tokens are bound to a key kept in SecretStorage only', async () => {
    await vscode.commands.executeCommand('mcpOAuth.signIn', 'dpop');
    const session = await waitFor('the DPoP session', () => api.manager.sessions.get('dpop'));
    assert.equal(session.account, 'alice@example.test');
    const tokens = (await api.manager.storedTokens('dpop'))!;
    assert.equal(tokens.tokenType, 'DPoP');
    const context = (api.manager as unknown as { context: vscode.ExtensionContext }).context;
    const keyText = await context.secrets.get(`mcpOAuth.dpopKey/dpop/${tokens.issuer}`);
    assert.ok(keyText, 'the key is in SecretStorage');
    const key = JSON.parse(keyText) as { jkt: string; privateJwk: { d: string } };
    assert.equal(key.jkt, tokens.dpopJkt);
    for (const value of [tokens.accessToken, tokens.refreshToken, key.privateJwk.d]) if (value) secrets.add(value);
    assert.ok(
      !(await context.secrets.get('mcpOAuth.tokens/dpop'))!.includes(key.privateJwk.d),
      'the key is not with the tokens',
    );
  });

  it('VS Code’s MCP client lists the DPoP server’s tools and calls one; the gateway adds a fresh proof to every request, and the Bearer server started next to it stays Bearer', async () => {
    const before = (await peersState()).dpop.length;
    // The MCP registry may not have the extension's servers yet right after activation: try for a while. Every
    // server starts (each at once); one that waits for a sign-in does not hold up the DPoP server's tools.
    const tools = await waitFor(
      "the DPoP server's tools in vscode.lm.tools",
      async () => {
        const started = vscode.commands
          .executeCommand('workbench.mcp.startServer', '*', { waitForLiveTools: true, autoTrustChanges: true })
          .then(undefined, () => undefined);
        await Promise.race([started, new Promise((r) => setTimeout(r, 5000))]);
        const found = vscode.lm.tools.filter((t) => t.tags.includes('mcp') && t.name.startsWith('mcp_dpop_'));
        return found.length >= 2 ? found : undefined;
      },
      90_000,
    );
    assert.deepEqual(tools.map((t) => t.name).sort(), ['mcp_dpop_admin_action', 'mcp_dpop_whoami']);
    const result = await vscode.lm.invokeTool('mcp_dpop_whoami', { input: {}, toolInvocationToken: undefined });
    const answer = result.content
      .map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : ''))
      .join('');
    assert.match(answer, /"sub":"alice"/, `the server answered ${answer}`);

    const seen = (await peersState()).dpop.slice(before);
    assert.ok(
      seen.some((r) => r.rpcMethod === 'tools/call' && r.outcome === 'ok'),
      'the call reached the server, past its DPoP check',
    );
    for (const request of seen) {
      assert.equal(request.scheme, 'DPoP', 'never a Bearer token');
      assert.equal(request.htm, request.method);
      assert.equal(request.htu, DPOP, 'a proof for the server’s URL, not the gateway’s');
      assert.ok(
        request.outcome === 'ok' || request.outcome === 'use_dpop_nonce',
        `${request.method} ${request.rpcMethod}: ${request.outcome}`,
      );
    }
    assert.equal(new Set(seen.map((r) => r.jti)).size, seen.length, 'a fresh proof for every request');
    // The server wants its nonce in every proof: the gateway keeps the one it was given, so it is asked at most once.
    assert.ok(seen.filter((r) => r.outcome === 'use_dpop_nonce').length <= 1, 'the nonce is kept between requests');
    // Split, a Bearer-only server of the same AS (which advertises DPoP), was started too: signed in with Bearer.
    const split = await waitFor('the Split session', () => api.manager.storedTokens('split'));
    assert.equal(split.tokenType, 'Bearer');
    assert.equal(split.dpopJkt, undefined);
  });

  it('a leaked token is refused: as a Bearer token, the DPoP server will not take it', async () => {
    const tokens = (await api.manager.storedTokens('dpop'))!;
    const response = await fetch(DPOP, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^DPoP .*invalid_token/);
    await response.body?.cancel();
  });

  it('Remove Server’s clean-up signs out and deletes the DPoP key with the client secret and private key', async () => {
    const tokens = (await api.manager.storedTokens('dpop'))!;
    const context = (api.manager as unknown as { context: vscode.ExtensionContext }).context;
    const keyName = `mcpOAuth.dpopKey/dpop/${tokens.issuer}`;
    assert.ok(await context.secrets.get(keyName));
    await context.secrets.store('mcpOAuth.clientSecret/dpop', 'a-secret-to-delete');
    const { signedOut, signOutFailed } = await api.manager.forget('dpop');
    assert.equal(signOutFailed, undefined);
    assert.match(signedOut ?? '', /Signed out of DPoP; the tokens were revoked/);
    for (const key of [keyName, 'mcpOAuth.clientSecret/dpop', 'mcpOAuth.privateKey/dpop', 'mcpOAuth.tokens/dpop']) {
      // Not assert.equal: a failure would print the key itself into the log the launcher scans.
      assert.ok((await context.secrets.get(key)) === undefined, `${key} is deleted`);
    }
    await waitFor('the session to go', () => (api.manager.sessions.get('dpop') ? undefined : true));
  });
});
