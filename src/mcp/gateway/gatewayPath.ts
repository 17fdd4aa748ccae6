/** Where the gateway serves each server: `/servers/<id>/mcp`, the id URL-encoded. */
export const PATH_PREFIX = '/servers/';
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** `/servers/<id>/mcp[/rest][?query]` → its parts; `undefined` for any other path. */
export function parseGatewayPath(url: string): { id: string; remainder: string; query: string } | undefined {
  if (!url.startsWith(PATH_PREFIX)) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const slash = path.indexOf('/', PATH_PREFIX.length);
  if (slash < 0) return undefined;
  const rest = path.slice(slash);
  if (rest !== '/mcp' && !rest.startsWith('/mcp/')) return undefined;
  const remainder = rest.slice(4);
  if (remainder && DOT_SEGMENT.test(remainder)) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(path.slice(PATH_PREFIX.length, slash));
  } catch {
    return undefined;
  }
  return { id, remainder, query: q < 0 ? '' : url.slice(q + 1) };
}

/** The upstream path: its own path and query, plus what the client added after `/mcp`. */
export function upstreamPath(
  route: { readonly basePath: string; readonly baseQuery: string },
  remainder: string,
  query: string,
): string {
  let path = route.basePath;
  if (remainder) path = path.endsWith('/') ? path + remainder.slice(1) : path + remainder;
  const search = route.baseQuery && query ? `${route.baseQuery}&${query}` : route.baseQuery || query;
  return search ? `${path}?${search}` : path;
}
