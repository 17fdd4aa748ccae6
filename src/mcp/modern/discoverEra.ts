import * as z from 'zod/v4';
import {
  ImplementationSchema,
  McpError,
  ResultSchema,
  ServerCapabilitiesSchema,
  type Implementation,
  type JSONRPCErrorResponse,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import { CancelledError, HttpRequestError, InvalidResponseError, McpOAuthError, quote } from '../../oauth/errors';
import type { FetchLike } from '../../oauth/http/policyFetch';
import { describeUrl } from '../../oauth/http/url';
import {
  HEADER_MISMATCH,
  LEGACY_PROTOCOL_VERSIONS,
  META_KEYS,
  MISSING_REQUIRED_CLIENT_CAPABILITY,
  MODERN_PROTOCOL_VERSION,
  UNSUPPORTED_PROTOCOL_VERSION,
  withEnvelope,
} from './envelope';
import { postRequest, type PostReply } from './postRequest';
import { standardHeaders } from './requestHeaders';
import { validated } from './validated';

/** server/discover §DiscoverResult. The caching hints (`ttlMs`, `cacheScope`) are not used, so not required. */
const DiscoverResultSchema = ResultSchema.extend({
  resultType: z.literal('complete').optional(),
  supportedVersions: z.array(z.string()),
  capabilities: ServerCapabilitiesSchema,
  instructions: z.string().optional(),
});

export interface Discovered {
  readonly capabilities: z.infer<typeof ServerCapabilitiesSchema>;
  readonly serverInfo?: Implementation;
  readonly instructions?: string;
}

export type ServerEra = { readonly era: 'modern'; readonly discovered: Discovered } | { readonly era: 'legacy' };

const LEGACY: ServerEra = { era: 'legacy' };

/**
 * Which era the server at `url` speaks, found the way streamable-http §Backward Compatibility describes: a
 * modern request first — `server/discover`, which every modern server implements (server/discover) and no
 * legacy one knows, so its answer is never ambiguous — then:
 *
 * - a `DiscoverResult` listing 2026-07-28: modern. One listing only handshake versions: legacy. A result
 *   that is not a valid `DiscoverResult` is a modern server answering wrongly: `invalid_response`.
 * - a recognized modern error (basic/index §Error Codes): `UnsupportedProtocolVersion` (-32022) whose
 *   `supported` has a handshake version is legacy, one with none is `unsupported_protocol_version`;
 *   `HeaderMismatch` and `MissingRequiredClientCapability` mean a modern server refused the request itself,
 *   which no fallback mends: thrown as the `McpError` they are.
 * - any other JSON-RPC error (an old server's -32601 method not found, -32000 "no session"…), or a 4xx
 *   without a JSON-RPC body: legacy, and the caller falls back to `initialize` (basic/versioning
 *   §Compatibility Matrix: "the modern request returns a 4xx without a recognized modern error body").
 * - 401 and 403 (sign-in is `fetch`'s business; they say nothing about the era), 3xx and 5xx: `http_error`.
 * - no answer within `timeoutMs`: `timeout`; on HTTP a silent server is down, not old.
 */
export async function discoverEra(
  fetch: FetchLike,
  url: URL,
  clientInfo: Implementation,
  { signal, timeoutMs }: { readonly signal?: AbortSignal; readonly timeoutMs: number },
): Promise<ServerEra> {
  const request = withEnvelope({ jsonrpc: '2.0', id: 'mcp-oauth-discover', method: 'server/discover' }, clientInfo);
  const timeout = AbortSignal.timeout(timeoutMs);
  let reply: PostReply;
  try {
    reply = await postRequest(fetch, url, request, {
      headers: standardHeaders(request),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    if (signal?.aborted) throw new CancelledError();
    if (timeout.aborted) {
      throw new HttpRequestError(
        'timeout',
        `The MCP server at ${describeUrl(url)} did not answer server/discover within ${timeoutMs} ms`,
        { cause: error },
      );
    }
    throw error;
  }
  return classify(reply, url);
}

function classify(reply: PostReply, url: URL): ServerEra {
  const { status, response } = reply;
  const refusal = status >= 400 && status <= 499 && status !== 401 && status !== 403;
  if (!refusal && (status < 200 || status > 299)) {
    throw new HttpRequestError(
      'http_error',
      `The MCP server at ${describeUrl(url)} answered server/discover with HTTP ${status}`,
    );
  }
  if (response && 'result' in response) return fromResult(response.result, url);
  if (response) return fromError(response.error, url);
  return LEGACY;
}

function fromResult(result: Result, url: URL): ServerEra {
  // Only a modern server answers server/discover with a result, so a malformed one is an error, not a fallback.
  const { supportedVersions, capabilities, instructions, _meta } = validated(
    DiscoverResultSchema,
    result,
    `The server/discover result of ${describeUrl(url)}`,
  );
  if (!supportedVersions.includes(MODERN_PROTOCOL_VERSION)) return legacyOrNothing(supportedVersions, url);
  const serverInfo = ImplementationSchema.safeParse(_meta?.[META_KEYS.serverInfo]);
  return {
    era: 'modern',
    discovered: {
      capabilities,
      ...(serverInfo.success ? { serverInfo: serverInfo.data } : {}),
      ...(instructions !== undefined ? { instructions } : {}),
    },
  };
}

const UnsupportedVersionDataSchema = z.object({ supported: z.array(z.string()).min(1) });

function fromError(error: JSONRPCErrorResponse['error'], url: URL): ServerEra {
  if (error.code === UNSUPPORTED_PROTOCOL_VERSION) {
    const data = UnsupportedVersionDataSchema.safeParse(error.data);
    if (!data.success || data.data.supported.includes(MODERN_PROTOCOL_VERSION)) {
      throw new InvalidResponseError(
        'invalid_response',
        `The MCP server at ${describeUrl(url)} refused protocol version ${MODERN_PROTOCOL_VERSION} without a valid list of the versions it supports`,
      );
    }
    return legacyOrNothing(data.data.supported, url);
  }
  if (error.code === HEADER_MISMATCH || error.code === MISSING_REQUIRED_CLIENT_CAPABILITY) {
    throw new McpError(error.code, `The MCP server refused server/discover: ${quote(error.message)}`, error.data);
  }
  return LEGACY;
}

/** Legacy when the server lists a handshake version the SDK speaks; otherwise there is nothing to speak. */
function legacyOrNothing(supported: readonly string[], url: URL): ServerEra {
  if (supported.some((version) => LEGACY_PROTOCOL_VERSIONS.includes(version))) return LEGACY;
  throw new McpOAuthError(
    'unsupported_protocol_version',
    `The MCP server at ${describeUrl(url)} supports protocol versions ${supported.map((v) => quote(v)).join(', ')}; this client speaks ${[MODERN_PROTOCOL_VERSION, ...LEGACY_PROTOCOL_VERSIONS].join(', ')}`,
  );
}
