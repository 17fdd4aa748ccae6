import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authorizedFetch } from '../mcp/authorizedFetch';
import { callTool, connectMcp, listAllTools } from '../mcp/mcpConnection';
import { describeAccount } from '../oauth/account';
import type { BearerChallenge } from '../oauth/challenge';
import { McpOAuthError } from '../oauth/errors';
import { ServerAuth } from '../oauth/serverAuth';
import { fromBundle, toBundle } from '../oauth/tokenBundle';
import type { CliCommand, FlowOptions } from './args';
import { startBrowserAgent } from './browserAgent';
import { authOptionsFrom, cliEnvironment } from './cliEnvironment';

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

type Command<K extends CliCommand['command']> = Extract<CliCommand, { command: K }>;
type UrlCommand = { readonly url: string };

function serverAuth(url: string, options: Partial<FlowOptions> = {}): ServerAuth {
  return new ServerAuth(cliEnvironment(options), url, authOptionsFrom(options));
}

/** Connects an MCP client whose 401s and 403s lead to a browser sign-in (or step-up). */
async function withMcp<T>(url: string, options: FlowOptions, use: (client: Client, auth: ServerAuth) => Promise<T>, forceSignIn = false): Promise<T> {
  const auth = serverAuth(url, options);
  let agent: Awaited<ReturnType<typeof startBrowserAgent>> | undefined;
  const signIn = async (challenge?: BearerChallenge, extraScopes?: readonly string[]) => {
    agent ??= await startBrowserAgent({ ...(options.redirectPort ? { port: options.redirectPort } : {}), openBrowser: options.openBrowser });
    await auth.signIn(agent, { ...(challenge ? { challenge } : {}), ...(extraScopes ? { extraScopes } : {}) });
  };
  try {
    if (forceSignIn) await signIn();
    const fetch = authorizedFetch({ fetch: globalThis.fetch, tokens: auth.tokenManager(), signIn });
    const client = await connectMcp(auth.serverUrl, fetch);
    try {
      return await use(client, auth);
    } finally {
      await client.close();
    }
  } finally {
    await agent?.close();
  }
}

export async function login(cmd: Command<'login'>, io: CliIO): Promise<void> {
  await withMcp(cmd.url, cmd.options, async (_client, auth) => {
    const tokens = await auth.tokenManager().getTokens();
    io.stdout(`Signed in to ${auth.serverUrl} as ${describeAccount(tokens)}; scopes: ${tokens.scopes.join(' ') || '(none stated)'}\n`);
  }, true);
}

export async function token(cmd: UrlCommand, io: CliIO): Promise<void> {
  const tokens = await serverAuth(cmd.url).tokenManager().getTokens();
  io.stdout(`${tokens.accessToken}\n`);
}

export async function tools(cmd: Command<'tools'>, io: CliIO): Promise<void> {
  const list = await withMcp(cmd.url, cmd.options, (client) => listAllTools(client));
  if (cmd.json) io.stdout(`${JSON.stringify(list, null, 2)}\n`);
  else for (const tool of list) io.stdout(`${tool.name}${tool.description ? ` — ${tool.description.split('\n')[0]}` : ''}\n`);
}

export async function call(cmd: Command<'call'>, io: CliIO): Promise<void> {
  const result = await withMcp(cmd.url, cmd.options, (client) => callTool(client, cmd.tool, { ...cmd.arguments }));
  for (const part of result.content ?? []) {
    io.stdout(part.type === 'text' ? `${part.text}\n` : `${JSON.stringify(part)}\n`);
  }
  if (result.isError) throw new McpOAuthError('http_error', `The tool ${JSON.stringify(cmd.tool)} reported an error`);
}

export async function logout(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = serverAuth(cmd.url);
  const env = cliEnvironment();
  const had = await env.tokens.get(auth.tokenKey);
  await env.tokens.delete(auth.tokenKey);
  io.stdout(had ? `Signed out of ${auth.serverUrl}; the tokens were deleted locally.\n` : `Not signed in to ${auth.serverUrl}.\n`);
}

export async function exportBundle(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = serverAuth(cmd.url);
  const tokens = await auth.tokenManager().getTokens();
  io.stdout(`${JSON.stringify(toBundle(auth.serverUrl, tokens), null, 2)}\n`);
}

export async function importBundle(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = serverAuth(cmd.url);
  const env = cliEnvironment();
  const tokens = fromBundle(await io.readStdin(), auth.serverUrl, env.now());
  await env.tokens.set(auth.tokenKey, tokens);
  io.stdout(`Imported a token for ${auth.serverUrl} (${describeAccount(tokens)}; ${tokens.refreshToken ? 'refreshable' : 'not refreshable'}).\n`);
}
