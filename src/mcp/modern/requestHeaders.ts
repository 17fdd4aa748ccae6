import { Buffer } from 'node:buffer';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { MODERN_PROTOCOL_VERSION } from './envelope';

/** The body field `Mcp-Name` mirrors, for the methods that require it (streamable-http §Standard Request Headers). */
const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

/**
 * The headers every modern POST carries, mirrored from its body so intermediaries can route without parsing
 * it: `MCP-Protocol-Version` (equal to `_meta`'s version), `Mcp-Method`, and `Mcp-Name` where the method has
 * a name or URI.
 */
export function standardHeaders(request: JSONRPCRequest): Record<string, string> {
  const headers: Record<string, string> = {
    'mcp-protocol-version': MODERN_PROTOCOL_VERSION,
    'mcp-method': request.method,
  };
  const source = NAME_SOURCE[request.method];
  const name = source ? request.params?.[source] : undefined;
  if (typeof name === 'string') headers['mcp-name'] = headerValue(name);
  return headers;
}

const SAFE = /^(?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?$/;

/**
 * A value as a header carries it (streamable-http §Value Encoding): as is when it is visible ASCII with no
 * leading or trailing whitespace; otherwise, or when it looks like the sentinel itself, the UTF-8 bytes in
 * base64 inside `=?base64?…?=`. The servers decode it before comparing it with the body.
 */
export function headerValue(value: string): string {
  const sentinelLike = value.startsWith('=?base64?') && value.endsWith('?=');
  if (SAFE.test(value) && !sentinelLike) return value;
  return `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
