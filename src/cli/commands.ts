import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authorizedFetch } from '../mcp/authorizedFetch';
import { probeChallenge } from '../mcp/challengeProbe';
import { callTool, connectMcp, listAllTools } from '../mcp/mcpConnection';
import { describeAccount } from '../oauth/tokens/claims';
import type { BearerChallenge } from '../oauth/discovery/challenge';
import { sleep, type DeviceAuthorization } from '../oauth/grants/deviceCode';
import { McpOAuthError } from '../oauth/errors';
import { JsonFileStore } from './store/jsonFileStore';
import { ServerAuth } from '../oauth/session/serverAuth';
import { canonicalServerUrl } from '../oauth/http/url';
import { fromBundle, toBundle } from '../oauth/tokens/tokenBundle';
import type { CliCommand, FlowOptions } from './args';
import { openBrowser } from './browser';
import { startBrowserAgent } from './browserAgent';
import { authOptionsFrom, cliEnvironment } from './cliEnvironment';
import { statePaths } from './paths';
import { inert } from './terminalText';

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

type Command<K extends CliCommand['command']> = Extract<CliCommand, { command: K }>;
type UrlCommand = { readonly url: string };

function serverAuth(url: string, options: Partial<FlowOptions> = {}): ServerAuth {
  return new ServerAuth(cliEnvironment(options), url, authOptionsFrom(options));
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

/** Connects an MCP client whose 401s and 403s lead to a browser sign-in (or step-up). */
async function withMcp<T>(
  url: string,
  options: FlowOptions,
  use: (client: Client, auth: ServerAuth) => Promise<T>,
  forceSignIn = false,
): Promise<T> {
  const auth = serverAuth(url, options);
  let agent: Awaited<ReturnType<typeof startBrowserAgent>> | undefined;
  const signIn = async (challenge?: BearerChallenge, extraScopes?: readonly string[]) => {
    const request = { ...(challenge ? { challenge } : {}), ...(extraScopes ? { extraScopes } : {}) };
    if (options.flow === 'deviceCode') {
      await auth.signInWithDeviceCode({
        ...request,
        clock: { now: Date.now, sleep },
        present: (device) => presentDeviceCode(device, options.openBrowser),
      });
    } else if (options.flow === 'clientCredentials') {
      await auth.signInWithClientCredentials(request);
    } else {
      agent ??= await startAgentOnRegisteredPort(auth, options, challenge);
      await auth.signIn(agent, request);
    }
  };
  try {
    if (forceSignIn) {
      await signIn(await probeChallenge(globalThis.fetch, auth.serverUrl));
      await profiles().set(auth.serverUrl, remembered(options));
    }
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

/**
 * The loopback port: `--redirect-port`, else the one the stored registration at this AS was made with (so
 * the registration is reused: not every AS accepts another loopback port), else an ephemeral one.
 */
async function startAgentOnRegisteredPort(auth: ServerAuth, options: FlowOptions, challenge?: BearerChallenge) {
  const open = { openBrowser: options.openBrowser };
  if (options.redirectPort) return startBrowserAgent({ ...open, port: options.redirectPort });
  const issuer = (await auth.discover(challenge)).authServer.issuer;
  const registered = (await cliEnvironment(options).clients.get(issuer))?.redirectUris[0];
  const port = registered ? Number(new URL(registered).port) : 0;
  if (port) {
    try {
      return await startBrowserAgent({ ...open, port });
    } catch (error) {
      if (!(error instanceof McpOAuthError && error.code === 'port_in_use')) throw error;
    }
  }
  return startBrowserAgent(open);
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

/** RFC 8628: the code and where to enter it go to stderr; the complete URI is opened when a browser is wanted. */
async function presentDeviceCode(device: DeviceAuthorization, open: boolean): Promise<void> {
  process.stderr.write(
    `${inert(`To sign in, open ${device.verificationUri} and enter the code ${device.userCode}`)}\n`,
  );
  if (device.verificationUriComplete) process.stderr.write(`  (or open ${inert(device.verificationUriComplete)})\n`);
  if (open) await openBrowser(device.verificationUriComplete ?? device.verificationUri);
}

export async function exportBundle(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = await rememberedAuth(cmd.url);
  const tokens = await auth.tokenManager().getTokens();
  io.stdout(`${JSON.stringify(toBundle(auth.serverUrl, tokens), null, 2)}\n`);
}

export async function importBundle(cmd: UrlCommand, io: CliIO): Promise<void> {
  const auth = serverAuth(cmd.url);
  const env = cliEnvironment();
  const tokens = fromBundle(await io.readStdin(), auth.serverUrl, env.now());
  await env.tokens.set(auth.tokenKey, tokens);
  io.stdout(
    `Imported a token for ${auth.serverUrl} (${describeAccount(tokens)}; ${tokens.refreshToken ? 'refreshable' : 'not refreshable'}).\n`,
  );
}
