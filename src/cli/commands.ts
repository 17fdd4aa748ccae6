import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { callTool, listAllTools } from '../mcp/mcpConnection';
import { connectToServer, signInToServer } from '../mcp/serverSession';
import { describeAccount } from '../oauth/tokens/claims';
import { McpOAuthError } from '../oauth/errors';
import { JsonFileStore } from './store/jsonFileStore';
import { ServerAuth } from '../oauth/session/serverAuth';
import { canonicalServerUrl } from '../oauth/http/url';
import { toBundle } from '../oauth/tokens/tokenBundle';
import type { CliCommand, FlowOptions } from './args';
import { authOptionsFrom, cliEnvironment } from './cliEnvironment';
import { cliHost } from './cliHost';
import { enterpriseAuthOptions, type CliFlowOptions } from './enterpriseOptions';
import { statePaths } from './paths';
import { inert } from './terminalText';

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

type Command<K extends CliCommand['command']> = Extract<CliCommand, { command: K }>;
type UrlCommand = { readonly url: string };

function serverAuth(url: string, options: CliFlowOptions = {}): ServerAuth {
  return new ServerAuth(cliEnvironment(options), url, {
    ...authOptionsFrom(options),
    ...enterpriseAuthOptions(options),
  });
}

/**
 * The options a server was signed in with: `token`, `logout` and `export` take only the URL, yet a
 * confidential client must authenticate again (its secret's variable name and key path are remembered,
 * never the secret itself).
 */
function profiles(): JsonFileStore<Partial<FlowOptions>> {
  return new JsonFileStore<Partial<FlowOptions>>(statePaths().serversFile);
}

async function rememberedAuth(url: string): Promise<ServerAuth> {
  const key = canonicalServerUrl(url);
  return serverAuth(key, (await profiles().get(key)) ?? {});
}

/** Explicit options win; what was not given comes from the last login to this server. */
async function withRemembered(url: string, options: FlowOptions): Promise<FlowOptions> {
  const saved = (await profiles().get(canonicalServerUrl(url))) ?? {};
  const merged: Record<string, unknown> = { ...saved };
  for (const [key, value] of Object.entries(options)) {
    const unset =
      value === undefined ||
      (key === 'flow' && value === 'auto') ||
      (key === 'scopes' && Array.isArray(value) && value.length === 0);
    if (!unset || !(key in merged)) merged[key] = value;
  }
  return merged as unknown as FlowOptions;
}

function remembered(options: FlowOptions): Partial<FlowOptions> {
  const { openBrowser: _open, redirectPort: _port, ...rest } = options;
  return rest;
}

/**
 * Connects an MCP client whose 401s and 403s lead to a sign-in (or step-up) through the CLI host; with
 * `signInFirst` (login), signs in before connecting. Which flow runs is the core's plan.
 */
async function withMcp<T>(
  url: string,
  options: FlowOptions,
  use: (client: Client, auth: ServerAuth) => Promise<T>,
  signInFirst = false,
): Promise<T> {
  const auth = serverAuth(url, options);
  const host = cliHost(options);
  if (signInFirst) {
    await signInToServer(auth, host);
    await profiles().set(auth.serverUrl, remembered(options));
  }
  const client = await connectToServer(auth, host);
  try {
    return await use(client, auth);
  } finally {
    await client.close();
  }
}

export async function login(cmd: Command<'login'>, io: CliIO): Promise<void> {
  await withMcp(
    cmd.url,
    cmd.options,
    async (_client, auth) => {
      const tokens = await auth.tokenManager().getTokens();
      io.stdout(
        `Signed in to ${auth.serverUrl} as ${describeAccount(tokens)}; scopes: ${tokens.scopes.join(' ') || '(none stated)'}\n`,
      );
    },
    true,
  );
}

export async function token(cmd: UrlCommand, io: CliIO): Promise<void> {
  const tokens = await (await rememberedAuth(cmd.url)).tokenManager().getTokens();
  io.stdout(`${tokens.accessToken}\n`);
}

export async function tools(cmd: Command<'tools'>, io: CliIO): Promise<void> {
  const list = await withMcp(cmd.url, await withRemembered(cmd.url, cmd.options), (client) => listAllTools(client));
  if (cmd.json) io.stdout(`${JSON.stringify(list, null, 2)}\n`);
  else
    for (const tool of list)
      io.stdout(`${inert(tool.name)}${tool.description ? ` — ${inert(tool.description.split('\n')[0]!)}` : ''}\n`);
}

export async function call(cmd: Command<'call'>, io: CliIO): Promise<void> {
  const result = await withMcp(cmd.url, await withRemembered(cmd.url, cmd.options), (client) =>
    callTool(client, cmd.tool, { ...cmd.arguments }),
  );
  for (const part of result.content ?? []) {
    io.stdout(part.type === 'text' ? `${part.text}\n` : `${JSON.stringify(part)}\n`);
  }
  if (result.isError) throw new McpOAuthError('tool_error', `The tool ${JSON.stringify(cmd.tool)} reported an error`);
}

export async function logout(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = await rememberedAuth(cmd.url);
  const result = await auth.signOut();
  if (!result.wasSignedIn) {
    io.stdout(`Not signed in to ${auth.serverUrl}.\n`);
    return;
  }
  const outcome = (what: string, value: string) =>
    value === 'revoked'
      ? `${what} revoked`
      : value === 'none'
        ? ''
        : `${what} ${value === 'not_supported' ? 'not revocable here' : 'NOT revoked'}`;
  const parts = [outcome('refresh token', result.refreshToken), outcome('access token', result.accessToken)]
    .filter(Boolean)
    .join(', ');
  io.stdout(
    `Signed out of ${auth.serverUrl}: ${parts}${result.reason ? ` (${result.reason})` : ''}; the tokens were deleted locally.\n`,
  );
}

export async function exportBundle(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = await rememberedAuth(cmd.url);
  const tokens = await auth.tokenManager().getTokens();
  io.stdout(`${JSON.stringify(toBundle(auth.serverUrl, tokens), null, 2)}\n`);
}

export async function importBundle(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = await rememberedAuth(cmd.url);
  const tokens = await auth.importBundle(await io.readStdin());
  io.stdout(
    `Imported a token for ${auth.serverUrl} (${describeAccount(tokens)}; ${tokens.refreshToken ? 'refreshable' : 'not refreshable'}).\n`,
  );
}
