// Enterprise-managed authorization (SEP-990) in a real VS Code (code-server), against the peers the launcher
// started (test/integration/peers.ts): an enterprise IdP named by `mcpOAuth.enterpriseIdp`, the ID-JAG
// authorization server of the "Enterprise" server, and that server. The launcher's scripted user signs in at
// the IdP's pages in the browser, as a person would; the IdP session then shows in the Accounts menu.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as vscode from 'vscode';
import type { McpOAuthApi } from '../../src/extension';
import { IDENTITY_PROVIDER_ID } from '../../src/vscode/model/identityProviderAccount';
import { SECRET_KEYS } from '../../src/vscode/secretStores';
import type { PeersState } from './peers';
import { recordSecrets } from './secretsSeen';
import { activateExtension, waitFor } from './extensionHost';

const IDP = process.env.MCP_OAUTH_TEST_IDP!;
const ADMIN = process.env.MCP_OAUTH_TEST_PEERS_ADMIN!;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

async function peersState(): Promise<PeersState> {
  return (await (await fetch(`${ADMIN}/state`)).json()) as PeersState;
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

describe('enterprise-managed authorization in a real VS Code, against real peers', function () {
  this.timeout(120_000);
  let api: McpOAuthApi;
  const seen = new Set<string>();

  before(async () => {
    assert.ok(IDP && ADMIN, 'the launcher started the enterprise peers');
    api = await activateExtension();
  });
  after(() => recordSecrets(seen));

  const remember = async (id: string) => {
    const tokens = await api.manager.sessions.tokens.get(id);
    for (const value of [tokens?.accessToken, tokens?.refreshToken, tokens?.idToken]) if (value) seen.add(value);
  };
  const gateway = async () => {
    const definition = (await api.mcpProvider.provideMcpServerDefinitions()).find((d) => d.label === 'Enterprise')!;
    const resolved = (await api.mcpProvider.resolveMcpServerDefinition(definition)) as vscode.McpHttpServerDefinition;
    return { url: resolved.uri.toString(), headers: resolved.headers as Record<string, string> };
  };

  it('signs in to the enterprise-managed server through the IdP once; the IdP shows in the Accounts menu', async () => {
    // The two client secrets, as the user would type them when asked (input boxes the scripted user leaves alone).
    const { clientId } = vscode.workspace.getConfiguration('mcpOAuth').get<{ clientId: string }>('enterpriseIdp')!;
    const secrets = (api.manager as unknown as { context: vscode.ExtensionContext }).context.secrets;
    await secrets.store(SECRET_KEYS.clientSecret('enterprise'), process.env.MCP_OAUTH_TEST_ENTERPRISE_SECRET!);
    await secrets.store(SECRET_KEYS.identityProviderSecret(IDP, clientId), process.env.MCP_OAUTH_TEST_IDP_SECRET!);
    const before = await peersState();

    await vscode.commands.executeCommand('mcpOAuth.signIn', 'enterprise');
    const session = await waitFor('the enterprise session', () => api.manager.sessions.get('enterprise'), 60_000);
    assert.equal(session.account, 'alice@example.test');
    assert.equal(session.registration, 'preregistered');
    assert.ok(session.refreshable, 'renewable without the user');
    const idp = await waitFor('the IdP session', () => api.manager.sessions.get(IDENTITY_PROVIDER_ID), 60_000);
    assert.equal(idp.issuer, IDP);
    await Promise.all([remember('enterprise'), remember(IDENTITY_PROVIDER_ID)]);

    const state = await peersState();
    const count = (grants: PeersState['idp']['grants'], grantType: string) =>
      grants.filter((g) => g.grantType === grantType && !g.error).length;
    assert.equal(
      count(state.idp.grants, 'authorization_code') - count(before.idp.grants, 'authorization_code'),
      1,
      'one sign-in at the IdP, in the browser',
    );
    assert.equal(count(state.idp.grants, TOKEN_EXCHANGE), 1, 'one exchange');
    assert.equal(count(state.idJagAs.grants, JWT_BEARER), 1, 'one ID-JAG grant');

    const [idpSession] = await api.authProvider.getSessions([`server:${IDENTITY_PROVIDER_ID}`]);
    assert.ok(idpSession, 'the authentication provider has the IdP session');
    assert.match(idpSession.account.label, /^alice \(Identity provider 127\.0\.0\.1:\d+\)$/);
    const accounts = await vscode.authentication.getAccounts('mcp-oauth');
    assert.ok(
      accounts.some((a) => /\(Identity provider 127\.0\.0\.1:\d+\)/.test(a.label)),
      `VS Code lists the IdP account: ${JSON.stringify(accounts.map((a) => a.label))}`,
    );
    assert.ok(accounts.some((a) => /alice@example\.test \(Enterprise\)/.test(a.label)));

    const { url, headers } = await gateway();
    assert.match(await callWhoami(url, headers), /alice/, 'a tool call through the token gateway');
  });

  it('exchanges again without the browser once the token expired', async () => {
    const before = (await api.manager.sessions.tokens.get('enterprise'))!;
    await api.manager.sessions.tokens.set('enterprise', { ...before, expiresAt: Date.now() - 1000 });
    const state = await peersState();
    const { url, headers } = await gateway();
    assert.match(await callWhoami(url, headers), /alice/);
    const after = (await api.manager.sessions.tokens.get('enterprise'))!;
    assert.notEqual(after.accessToken, before.accessToken, 'a new token');
    await remember('enterprise');
    const now = await peersState();
    const codes = (s: PeersState) => s.idp.grants.filter((g) => g.grantType === 'authorization_code').length;
    assert.equal(codes(now), codes(state), 'no browser');
    assert.equal(
      now.idp.grants.filter((g) => g.grantType === TOKEN_EXCHANGE).length,
      state.idp.grants.filter((g) => g.grantType === TOKEN_EXCHANGE).length + 1,
      'one new exchange',
    );
  });
});
