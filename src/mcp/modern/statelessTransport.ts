import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isJSONRPCNotification,
  isJSONRPCRequest,
  ListToolsResultSchema,
  McpError,
  type Implementation,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type MessageExtraInfo,
  type RequestId,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import { HttpRequestError, InvalidResponseError, quote } from '../../oauth/errors';
import type { Logger } from '../../oauth/http/logger';
import type { FetchLike } from '../../oauth/http/policyFetch';
import { HEADER_MISMATCH, withEnvelope } from './envelope';
import { paramHeaderValues, scanParamHeaders, type ParamHeader } from './paramHeaders';
import { postRequest, type PostReply } from './postRequest';
import { standardHeaders } from './requestHeaders';
import { validated } from './validated';

/** Retries of a request the server answers with an InputRequiredResult that only carries `requestState`. */
const MAX_INPUT_ROUNDS = 3;

export interface StatelessTransportOptions {
  readonly clientInfo: Implementation;
  /** Told about tools left out of `tools/list` for an invalid `x-mcp-header`. */
  readonly logger: Logger;
}

/**
 * The SDK `Transport` for Streamable HTTP as 2026-07-28 defines it: every request its own POST carrying the
 * `_meta` envelope and the headers mirrored from it; no session, no GET stream, no DELETE (streamable-http
 * §Earlier Streamable HTTP Revisions). What the SDK's Protocol layer cannot know is done here, request by
 * request:
 *
 * - the `Mcp-Param-*` headers of a `tools/call`, from the tool's `x-mcp-header` annotations in the
 *   `tools/list` pages seen; tools whose annotations break the rules are left out of those pages;
 *   a `HeaderMismatch` answer to a `tools/call` lists the tools again and retries once;
 * - `resultType`: absent or `complete` is a result; `input_required` with only `requestState` is retried
 *   with it (basic/patterns/mrtr); anything else is `invalid_response`, since this client declares no
 *   capability to answer input requests with;
 * - errors the server sends with a 4xx go to the Protocol layer in-band, as `McpError`s; other non-2xx
 *   answers fail the request with `http_error`;
 * - cancellation (the SDK's `notifications/cancelled`) aborts the request's POST, which is how this
 *   revision cancels on HTTP.
 */
export class StatelessHttpTransport implements Transport {
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private readonly inFlight = new Map<RequestId, AbortController>();
  private readonly paramHeaders = new Map<string, readonly ParamHeader[]>();
  private ownIds = 0;

  constructor(
    private readonly url: URL,
    private readonly fetch: FetchLike,
    private readonly options: StatelessTransportOptions,
  ) {}

  /** Nothing to open: there is no connection, only requests. */
  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (!isJSONRPCRequest(message)) {
      if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
        const id = message.params?.requestId;
        if (typeof id === 'string' || typeof id === 'number') this.inFlight.get(id)?.abort();
        return;
      }
      throw new Error('Over 2026-07-28 Streamable HTTP a client sends requests only');
    }
    const controller = new AbortController();
    this.inFlight.set(message.id, controller);
    try {
      this.onmessage?.(await this.exchange(message, controller.signal));
    } finally {
      this.inFlight.delete(message.id);
    }
  }

  async close(): Promise<void> {
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    this.onclose?.();
  }

  /** `request`'s answer, after the retries above; it carries `request`'s id whatever id the retries had. */
  private async exchange(request: JSONRPCRequest, signal: AbortSignal): Promise<JSONRPCResponse> {
    const method = quote(request.method);
    let attempt = request;
    let relisted = false;
    for (let round = 0; ; round++) {
      const { status, response } = await this.post(attempt, signal);
      if (!response) throw new HttpRequestError('http_error', `The MCP server answered ${method} with HTTP ${status}`);
      if ('error' in response) {
        if (response.error.code === HEADER_MISMATCH && request.method === 'tools/call' && !relisted) {
          relisted = true;
          await this.learnParamHeaders(signal);
          attempt = { ...attempt, id: this.ownId() };
          continue;
        }
        return { ...response, id: request.id };
      }
      const { result } = response;
      if (result.resultType === undefined || result.resultType === 'complete') {
        return {
          ...response,
          id: request.id,
          result: request.method === 'tools/list' ? this.screened(result) : result,
        };
      }
      if (result.resultType !== 'input_required') {
        throw new InvalidResponseError(
          'invalid_response',
          `The MCP server's ${method} result has the unknown resultType ${quote(String(result.resultType))}`,
        );
      }
      if (result.inputRequests !== undefined) {
        throw new InvalidResponseError(
          'invalid_response',
          `The MCP server asks for input to ${method} that this client declared no capability for`,
        );
      }
      if (typeof result.requestState !== 'string') {
        throw new InvalidResponseError(
          'invalid_response',
          `The MCP server's input_required result for ${method} has neither inputRequests nor requestState`,
        );
      }
      if (round === MAX_INPUT_ROUNDS) {
        throw new InvalidResponseError('invalid_response', `The MCP server kept asking to retry ${method}`);
      }
      // A new id for the retry, the original params, and the state echoed exactly.
      attempt = { ...request, id: this.ownId(), params: { ...request.params, requestState: result.requestState } };
    }
  }

  private post(request: JSONRPCRequest, signal: AbortSignal): Promise<PostReply> {
    const headers = standardHeaders(request);
    const tool = request.method === 'tools/call' ? request.params?.name : undefined;
    if (typeof tool === 'string') {
      Object.assign(headers, paramHeaderValues(this.paramHeaders.get(tool) ?? [], request.params?.arguments));
    }
    return postRequest(this.fetch, this.url, withEnvelope(request, this.options.clientInfo), {
      headers,
      signal,
      onNotification: (notification) => this.onmessage?.(notification),
    });
  }

  /** A `tools/list` page without the tools whose `x-mcp-header` annotations are invalid; the rest are noted. */
  private screened(result: Result): Result {
    const page = validated(ListToolsResultSchema, result, "The MCP server's tools/list result");
    const tools = page.tools.filter((tool) => {
      const scan = scanParamHeaders(tool.inputSchema);
      if (scan.ok) this.paramHeaders.set(tool.name, scan.headers);
      else this.options.logger.warn(`[mcp] left the tool ${quote(tool.name)} out of tools/list: ${scan.reason}`);
      return scan.ok;
    });
    return { ...page, tools };
  }

  /** Every page of `tools/list` again, for the `x-mcp-header` annotations of the tools as they are now. */
  private async learnParamHeaders(signal: AbortSignal): Promise<void> {
    this.paramHeaders.clear();
    const cursors = new Set<string>();
    let cursor: string | undefined;
    do {
      const params = cursor === undefined ? {} : { cursor };
      const response = await this.exchange({ jsonrpc: '2.0', id: this.ownId(), method: 'tools/list', params }, signal);
      if ('error' in response)
        throw new McpError(response.error.code, quote(response.error.message), response.error.data);
      const next = response.result.nextCursor;
      cursor = typeof next === 'string' && !cursors.has(next) ? next : undefined;
      if (cursor !== undefined) cursors.add(cursor);
    } while (cursor !== undefined);
  }

  private ownId(): string {
    return `mcp-oauth-${++this.ownIds}`;
  }
}
