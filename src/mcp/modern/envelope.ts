import {
  SUPPORTED_PROTOCOL_VERSIONS,
  type Implementation,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';

/** The revision spoken without a handshake (2026-07-28, basic/versioning: the "modern" era). */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';

/** The handshake ("legacy") revisions the SDK's Client negotiates with `initialize`: 2025-11-25 and earlier. */
export const LEGACY_PROTOCOL_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;

/** The per-request `_meta` keys of basic/index §`_meta` (protocolVersion and clientCapabilities are required). */
export const META_KEYS = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** The JSON-RPC error codes the revision defines (basic/index §Error Codes): only a modern server sends them. */
export const HEADER_MISMATCH = -32020;
export const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021;
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** Whether `code` is one of those: the mark of a modern server (streamable-http §Backward Compatibility). */
export function isModernErrorCode(code: number): boolean {
  return (
    code === HEADER_MISMATCH || code === MISSING_REQUIRED_CLIENT_CAPABILITY || code === UNSUPPORTED_PROTOCOL_VERSION
  );
}

/**
 * `request` with the envelope every modern request carries in `params._meta`: the protocol version, the
 * client's capabilities for this request (none: this client answers no sampling, elicitation or roots) and
 * who it is. Keys the request already had in `_meta` (a progress token) stay.
 */
export function withEnvelope(request: JSONRPCRequest, clientInfo: Implementation): JSONRPCRequest {
  return {
    ...request,
    params: {
      ...request.params,
      _meta: {
        ...request.params?._meta,
        [META_KEYS.protocolVersion]: MODERN_PROTOCOL_VERSION,
        [META_KEYS.clientCapabilities]: {},
        [META_KEYS.clientInfo]: clientInfo,
      },
    },
  };
}
