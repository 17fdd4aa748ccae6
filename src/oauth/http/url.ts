import { InvalidResponseError, McpOAuthError } from '../errors';

/** 127.0.0.0/8, ::1 and localhost: the only hosts where plain http is acceptable (RFC 8252 §8.3). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Parses `value` as an absolute URL, or throws `invalid_url` naming `field`. */
export function parseUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string' || value.length === 0) {
    throw new McpOAuthError('invalid_url', `${field} must be a non-empty URL string`);
  }
  try {
    return new URL(value);
  } catch {
    throw new McpOAuthError('invalid_url', `${field} is not an absolute URL`);
  }
}

/** Accepts https anywhere and http on loopback; refuses everything else (`javascript:`, `file:`, plain http). */
export function assertSecureUrl(url: URL, field: string): URL {
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new InvalidResponseError(
    'insecure_url',
    `${field} must use https (plain http is allowed only on loopback), got ${url.protocol}//${url.host}`,
  );
}

/** Parses and checks a URL read from configuration or metadata: absolute, https (or loopback http), no fragment. */
export function secureUrl(value: unknown, field: string): URL {
  const url = assertSecureUrl(parseUrl(value, field), field);
  if (url.hash) throw new McpOAuthError('invalid_url', `${field} must not contain a fragment`);
  if (url.username || url.password) throw new McpOAuthError('invalid_url', `${field} must not contain credentials`);
  return url;
}

/**
 * The canonical form of an MCP server URL, used as the key for everything about that server and as the
 * default RFC 8707 resource: lower-case scheme and host, default port dropped, no fragment, no trailing
 * slash on a non-root path.
 */
export function canonicalServerUrl(value: string): string {
  const url = secureUrl(value, 'server URL');
  url.hash = '';
  let text = url.href;
  if (url.pathname !== '/' && text.endsWith('/') && !url.search) text = text.slice(0, -1);
  return text;
}

/** A URL for logs: origin and path only, never the query (it may hold a code or state). */
export function describeUrl(url: URL | string): string {
  const u = typeof url === 'string' ? safeParse(url) : url;
  return u ? `${u.origin}${u.pathname}` : '<invalid url>';
}

function safeParse(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * Whether the metadata's `resource` identifies the server: the same origin, and a path that is the server's
 * path or a parent of it on a segment boundary (MCP servers commonly name their origin as the resource).
 */
export function resourceCovers(resource: string, serverUrl: string): boolean {
  let r: URL;
  try {
    r = new URL(resource);
  } catch {
    return false;
  }
  const s = new URL(serverUrl);
  if (r.origin !== s.origin || r.search || r.hash) return false;
  const rp = r.pathname.endsWith('/') ? r.pathname : `${r.pathname}/`;
  const sp = s.pathname.endsWith('/') ? s.pathname : `${s.pathname}/`;
  return sp.startsWith(rp);
}
