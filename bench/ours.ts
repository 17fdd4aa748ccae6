// Our client, built the way the product builds it: ServerAuth (discovery, registration, authorization code
// with PKCE, token) through the hosts' one sign-in entry point (signInToServer / connectToServer), over one
// counting fetch.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { authorizedFetch } from '../src/mcp/authorizedFetch';
import { connectMcp, listAllTools } from '../src/mcp/mcpConnection';
import { connectToServer, signInToServer } from '../src/mcp/serverSession';
import type { AuthEnvironment } from '../src/oauth/session/environment';
import type { ClientStore } from '../src/oauth/client/registration';
import { defaultHttpPolicy, type FetchLike } from '../src/oauth/http/policyFetch';
import { MemoryTokenStore } from '../src/oauth/tokens/memoryTokenStore';
import { ServerAuth } from '../src/oauth/session/serverAuth';
import type { TokenStore } from '../src/oauth/tokens/tokenStore';
import { coreEnvironment, MemoryClientStore, ScriptedUser } from '../test/unit/support/coreHarness';

export interface Stores {
  readonly tokens: TokenStore;
  readonly clients: ClientStore;
}

export const freshStores = (): Stores => ({ tokens: new MemoryTokenStore(), clients: new MemoryClientStore() });

/** The core's environment (in-memory stores, the test harness's settings) with every request through `fetch`. */
export function environment(fetch: FetchLike, stores: Stores): AuthEnvironment {
  const base = coreEnvironment({ tokens: stores.tokens, clients: stores.clients });
  return { ...base, http: { ...defaultHttpPolicy(fetch), timeoutMs: 30_000 } };
}

export interface Connected {
  readonly client: Client;
  readonly tools: Tool[];
}

/**
 * The connect-driven path (the CLI's `tools`, and connectWithSignIn in the tests): the MCP client's first
 * request gets a 401, authorizedFetch signs in with its challenge, then retries.
 */
export async function oursConnect(url: string, fetch: FetchLike, stores: Stores): Promise<Connected> {
  const auth = new ServerAuth(environment(fetch, stores), url);
  const client = await connectToServer(auth, new ScriptedUser(), fetch);
  return { client, tools: await listAllTools(client) };
}

/**
 * The extension's path: "Sign In" (SessionService.signIn: signInToServer, which probes the server for its
 * challenge, then ServerAuth.signIn), then the tool listing (SessionService.listTools: connectToServer
 * without a host, so it never prompts).
 */
export async function oursExtension(url: string, fetch: FetchLike, stores: Stores): Promise<Connected> {
  const auth = new ServerAuth(environment(fetch, stores), url);
  await signInToServer(auth, new ScriptedUser(), {}, fetch);
  const client = await connectToServer(auth, undefined, fetch);
  return { client, tools: await listAllTools(client) };
}

/** A new session (a new window, a restart) with a stored, valid token: no sign-in may happen. */
export async function oursWarm(url: string, fetch: FetchLike, stores: Stores): Promise<Connected> {
  const auth = new ServerAuth(environment(fetch, stores), url);
  const authorized = authorizedFetch({
    fetch,
    tokens: auth.tokenManager(),
    signIn: async () => {
      throw new Error('a warm reconnect must not sign in');
    },
  });
  const client = await connectMcp(auth.serverUrl, authorized);
  return { client, tools: await listAllTools(client) };
}
