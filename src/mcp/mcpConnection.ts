import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { InvalidResponseError, quote } from '../oauth/errors';
import { nullLogger, type Logger } from '../oauth/http/logger';
import type { FetchLike } from '../oauth/http/policyFetch';
import { discoverEra } from './modern/discoverEra';
import { StatelessClient } from './modern/statelessClient';
import { StatelessHttpTransport } from './modern/statelessTransport';
import { validated } from './modern/validated';

export const CLIENT_INFO = { name: 'mcp-oauth', version: '0.1.0' };

/** The SDK's default request timeout, for connecting too. */
const CONNECT_TIMEOUT_MS = 60_000;

export interface ConnectOptions {
  /** Where warnings about the server's tool definitions go. */
  readonly logger?: Logger;
  /** Cancels connecting (server/discover, or the handshake). */
  readonly signal?: AbortSignal;
  /** How long server/discover, or `initialize`, may take (default 60 s). */
  readonly timeoutMs?: number;
}

/**
 * An MCP client over Streamable HTTP whose every request goes through `fetch` (which adds auth). It asks
 * `server/discover` first ({@link discoverEra}): a server that answers it gets 2026-07-28, with no
 * handshake and no session (src/mcp/modern); one that answers with a 4xx and no modern error gets the
 * SDK's `initialize` handshake and session (2025-11-25, or the earlier version the server picks).
 *
 * When the SDK speaks 2026-07-28 itself (its 2.x `Client` takes `versionNegotiation: { mode: 'auto' }`),
 * connectMcp becomes that `Client` over its StreamableHTTPClientTransport and src/mcp/modern goes, but for
 * what challengeProbe.ts builds its unauthenticated request with (envelope.ts, requestHeaders.ts and
 * `jsonRpcError`), unless the SDK exports those too.
 */
export async function connectMcp(serverUrl: string, fetch: FetchLike, options: ConnectOptions = {}): Promise<Client> {
  const url = new URL(serverUrl);
  const { signal, timeoutMs = CONNECT_TIMEOUT_MS } = options;
  const found = await discoverEra(fetch, url, CLIENT_INFO, { ...(signal ? { signal } : {}), timeoutMs });
  if (found.era === 'modern') {
    const client = new StatelessClient(CLIENT_INFO, found.discovered);
    await client.connect(
      new StatelessHttpTransport(url, fetch, { clientInfo: CLIENT_INFO, logger: options.logger ?? nullLogger }),
    );
    return client;
  }
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(url, { fetch }), {
    ...(signal ? { signal } : {}),
    timeout: timeoutMs,
  });
  return client;
}

/**
 * All tools, following pagination. A cursor is opaque and may be empty (server/utilities/pagination); only
 * its absence ends the list. A cursor that comes back again would never end it, so it is an error.
 */
export async function listAllTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    tools.push(...page.tools);
    cursor = page.nextCursor;
    if (cursor !== undefined && cursors.has(cursor)) {
      throw new InvalidResponseError(
        'invalid_response',
        `The MCP server's tools/list repeats the cursor ${quote(cursor)}`,
      );
    }
    if (cursor !== undefined) cursors.add(cursor);
  } while (cursor !== undefined);
  return tools;
}

export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return validated(
    CallToolResultSchema,
    await client.callTool({ name, arguments: args }),
    `The MCP server's result for the tool ${quote(name)}`,
  );
}
