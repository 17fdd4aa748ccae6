import {
  JSONRPCErrorResponseSchema,
  JSONRPCMessageSchema,
  JSONRPCResponseSchema,
  type JSONRPCErrorResponse,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from '@modelcontextprotocol/sdk/types.js';
import { HttpRequestError, InvalidResponseError, isCancellation, McpOAuthError, quote } from '../../oauth/errors';
import type { FetchLike } from '../../oauth/http/policyFetch';
import { describeUrl } from '../../oauth/http/url';
import { sseData } from './sseData';

export interface PostOptions {
  /** The request's MCP headers (standard and `Mcp-Param-*`); `Content-Type` and `Accept` are added here. */
  readonly headers: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Notifications the server sends on the request's SSE stream before its answer (progress, log messages). */
  readonly onNotification?: (notification: JSONRPCNotification) => void;
}

export interface PostReply {
  readonly status: number;
  /**
   * The answer: always there on a 2xx (anything else there is an error); on another status only when the
   * body is a JSON-RPC error response, as a modern server sends with its 400s and 404s.
   */
  readonly response: JSONRPCResponse | undefined;
}

/**
 * One JSON-RPC request as its own POST (streamable-http §Sending Messages), and its answer, which comes as
 * one JSON object or as an SSE stream scoped to the request (§Receiving Messages). Every answer is checked
 * against the SDK's JSON-RPC schemas and matched to the request's id; nothing is taken on trust.
 */
export async function postRequest(
  fetch: FetchLike,
  url: URL,
  request: JSONRPCRequest,
  options: PostOptions,
): Promise<PostReply> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...options.headers,
      },
      body: JSON.stringify(request),
      redirect: 'manual',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (error instanceof McpOAuthError || isCancellation(error)) throw error;
    throw new HttpRequestError(
      'network_error',
      `Could not reach the MCP server at ${describeUrl(url)}; check the URL and that the server is running`,
      { cause: error },
    );
  }
  const { status } = response;
  const what = `The MCP server's answer to ${quote(request.method)}`;
  const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (status < 200 || status > 299) {
    return { status, response: errorResponse(await response.text(), request) };
  }
  if (type === 'text/event-stream' && response.body) {
    return { status, response: await streamedAnswer(response.body, request, what, options.onNotification) };
  }
  if (type !== 'application/json') {
    await response.body?.cancel().catch(() => undefined);
    throw new InvalidResponseError('invalid_response', `${what} is ${type ? quote(type) : 'untyped'}, not JSON or SSE`);
  }
  return { status, response: answer(parseJson(await response.text(), what), request, what) };
}

/** A JSON-RPC error response for `request` in an error status's body, if that is what the body is. */
function errorResponse(body: string, request: JSONRPCRequest): JSONRPCResponse | undefined {
  const error = jsonRpcError(body);
  // An error that could not be tied to a request (a malformed one) has no id.
  return error && (error.id === undefined || error.id === request.id) ? error : undefined;
}

/** `body` as a JSON-RPC error response, if it is one. */
export function jsonRpcError(body: string): JSONRPCErrorResponse | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = JSONRPCErrorResponseSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

async function streamedAnswer(
  body: ReadableStream<Uint8Array>,
  request: JSONRPCRequest,
  what: string,
  onNotification: PostOptions['onNotification'],
): Promise<JSONRPCResponse> {
  for await (const data of sseData(body)) {
    const parsed = JSONRPCMessageSchema.safeParse(parseJson(data, `An event of ${what}`));
    if (!parsed.success) throw new InvalidResponseError('invalid_response', `An event of ${what} is not JSON-RPC`);
    const message = parsed.data;
    if ('method' in message && !('id' in message)) {
      onNotification?.(message);
      continue;
    }
    // The server may not send requests on the stream (input comes as an InputRequiredResult instead).
    if ('method' in message) throw new InvalidResponseError('invalid_response', `${what} carries a request`);
    return answer(message, request, what);
  }
  throw new InvalidResponseError('invalid_response', `${what} ended its stream without an answer`);
}

function answer(json: unknown, request: JSONRPCRequest, what: string): JSONRPCResponse {
  const parsed = JSONRPCResponseSchema.safeParse(json);
  if (!parsed.success) throw new InvalidResponseError('invalid_response', `${what} is not a JSON-RPC response`);
  if (parsed.data.id !== request.id && !('error' in parsed.data && parsed.data.id === undefined)) {
    throw new InvalidResponseError('invalid_response', `${what} answers another request`);
  }
  return parsed.data;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpRequestError('invalid_json', `${what} is not valid JSON`);
  }
}
