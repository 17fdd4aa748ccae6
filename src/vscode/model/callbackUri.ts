/** Whether a callback URI's query still carries its percent-encoding (`encoded`) or was decoded once already. */
export type QueryForm = 'encoded' | 'decoded';

/** The parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207, OpenID Connect session management). */
const RESPONSE_PARAMETERS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

/**
 * The callback as a URL whose `searchParams` give the authorization response's values exactly, from the path
 * and query a URI handler received. An `encoded` query is decoded once by the URL parser. A `decoded` query
 * (desktop VS Code decoded it already) is not decoded again: it is split where an authorization response
 * parameter begins, so a code that holds `+`, `%`, `#`, `=` or even `&` arrives intact.
 */
export function callbackUrl(path: string, query: string, form: QueryForm): URL {
  const url = new URL(path.startsWith('/') ? path : `/${path}`, 'https://callback.invalid');
  if (form === 'encoded') {
    url.search = query;
    return url;
  }
  const names = RESPONSE_PARAMETERS.join('|');
  const parameter = new RegExp(`(?:^|&)(${names})=`, 'g');
  const starts = [...query.matchAll(parameter)];
  const params = new URLSearchParams();
  starts.forEach((match, i) => {
    const valueStart = match.index + match[0].length;
    const valueEnd = i + 1 < starts.length ? starts[i + 1]!.index : query.length;
    params.append(match[1]!, query.slice(valueStart, valueEnd));
  });
  url.search = params.toString();
  return url;
}
