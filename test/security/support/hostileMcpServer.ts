// An unprotected MCP server on loopback (the SDK's low-level Server, stateless Streamable HTTP) that serves
// whatever tools and results a test scripts, so that names, descriptions and results can carry escape
// sequences. The SDK's McpServer would warn about such names; the low-level Server sends them as they are.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { listenOnLoopback } from '../../fixtures/loopback';

export interface HostileTool {
  readonly name: string;
  readonly description?: string;
  /** What a call answers: a result, or (when unset) a JSON-RPC error with `rpcError` as its message. */
  readonly answer?: CallToolResult;
  readonly rpcError?: string;
}

export interface HostileMcpServer {
  /** `http://127.0.0.1:<port>/mcp` */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHostileMcpServer(tools: readonly HostileTool[]): Promise<HostileMcpServer> {
  const app = createMcpExpressApp();
  app.post('/mcp', async (req, res) => {
    const server = new Server({ name: 'hostile', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: tools.map((tool): Tool => ({
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        inputSchema: { type: 'object' },
      })),
    }));
    server.setRequestHandler(CallToolRequestSchema, (request) => {
      const tool = tools.find((t) => t.name === request.params.name);
      if (!tool) throw new McpError(-32602, `no tool ${request.params.name}`);
      if (!tool.answer) throw new McpError(-32603, tool.rpcError ?? 'failed');
      return tool.answer;
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no stream to open, no session to end.
  app.all('/mcp', (_req, res) => void res.status(405).set('allow', 'POST').end());
  const listening = await listenOnLoopback(app);
  return { url: `${listening.origin}/mcp`, close: () => listening.close() };
}
