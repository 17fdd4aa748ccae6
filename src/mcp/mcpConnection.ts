import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { FetchLike } from '../oauth/http/policyFetch';

export const CLIENT_INFO = { name: 'mcp-oauth', version: '0.1.0' };

/** An MCP client session over Streamable HTTP whose every request goes through `fetch` (which adds auth). */
export async function connectMcp(serverUrl: string, fetch: FetchLike): Promise<Client> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { fetch });
  await client.connect(transport);
  return client;
}

/** All tools, following pagination. */
export async function listAllTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}
