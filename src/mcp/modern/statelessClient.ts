import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Protocol, type RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AnySchema, SchemaOutput } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import {
  ResultSchema,
  type ClientRequest,
  type Implementation,
  type Request,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { quote } from '../../oauth/errors';
import type { Discovered } from './discoverEra';
import { validated } from './validated';

/**
 * The SDK's `Client`, for a server that speaks 2026-07-28: its methods (listTools, callTool with its output
 * schema checks, close, …) run as they are over a {@link StatelessHttpTransport}, but it opens with no
 * `initialize` (the revision has none, basic/versioning), reports what `server/discover` said, and turns a
 * result that fails the method's schema into `invalid_response`.
 */
export class StatelessClient extends Client {
  constructor(
    clientInfo: Implementation,
    private readonly discovered: Discovered,
  ) {
    super(clientInfo, { capabilities: {} });
  }

  /** What `Client.connect` does before its handshake, and nothing more. */
  override async connect(transport: Transport): Promise<void> {
    await Protocol.prototype.connect.call(this, transport);
  }

  override getServerCapabilities(): ServerCapabilities {
    return this.discovered.capabilities;
  }

  override getServerVersion(): Implementation | undefined {
    return this.discovered.serverInfo;
  }

  override getInstructions(): string | undefined {
    return this.discovered.instructions;
  }

  override async request<T extends AnySchema>(
    request: ClientRequest | Request,
    resultSchema: T,
    options?: RequestOptions,
  ): Promise<SchemaOutput<T>> {
    const result = await super.request(request, ResultSchema, options);
    return validated(resultSchema, result, `The MCP server's ${quote(request.method)} result`);
  }
}
