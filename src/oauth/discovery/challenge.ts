import { InvalidResponseError } from '../errors';

/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). Parameter names are lower-cased. */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
  readonly token68?: string;
}

/**
 * What an MCP client needs from a Bearer challenge (RFC 6750 §3, RFC 9728 §5.1), or from a DPoP one, which has
 * the same parameters (RFC 9449 §7.1): step-up and sign-in work the same under either scheme.
 */
export interface BearerChallenge {
  readonly error?: string;
  readonly errorDescription?: string;
  /** Scopes the server asks for, in the order it gave them. */
  readonly scopes?: readonly string[];
  readonly resourceMetadataUrl?: string;
  /**
   * Set when the header holds a DPoP challenge (RFC 9449 §7.1): the server takes DPoP-bound tokens, with proofs
   * signed by one of `algs` when it names them.
   */
  readonly dpop?: { readonly algs?: readonly string[] };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

/** Parses every challenge in a `WWW-Authenticate` header value. Malformed input throws `invalid_challenge`. */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let rest = header.trim();
  const fail = (): never => {
    throw new InvalidResponseError('invalid_challenge', 'The WWW-Authenticate header is malformed');
  };
  const skip = (pattern: RegExp) => {
    rest = rest.replace(pattern, '');
  };
  while (rest.length > 0) {
    skip(/^[\s,]+/);
    if (!rest) break;
    const scheme = TOKEN.exec(rest)?.[0] ?? fail();
    rest = rest.slice(scheme.length);
    const params: Record<string, string> = {};
    let token68: string | undefined;
    if (/^\s+/.test(rest)) {
      skip(/^\s+/);
      // token68 form: one value, not a `name=value` parameter list
      const first = TOKEN.exec(rest)?.[0];
      const isParam = first !== undefined && /^\s*=\s*[^\s=,]/.test(rest.slice(first.length));
      const t68 = isParam ? undefined : TOKEN68.exec(rest)?.[0];
      if (t68 && /^\s*(,|$)/.test(rest.slice(t68.length))) {
        token68 = t68;
        rest = rest.slice(t68.length);
      } else {
        for (;;) {
          const name = TOKEN.exec(rest)?.[0];
          if (!name) break;
          const after = rest.slice(name.length).replace(/^\s*/, '');
          if (!after.startsWith('=')) break; // the next challenge's scheme
          rest = after.slice(1).replace(/^\s*/, '');
          let value: string;
          if (rest.startsWith('"')) {
            let i = 1;
            value = '';
            for (; i < rest.length && rest[i] !== '"'; i++) {
              if (rest[i] === '\\') i++;
              value += rest[i] ?? '';
            }
            if (i >= rest.length) fail();
            rest = rest.slice(i + 1);
          } else {
            value = TOKEN.exec(rest)?.[0] ?? fail();
            rest = rest.slice(value.length);
          }
          const key = name.toLowerCase();
          if (key in params) fail();
          params[key] = value;
          skip(/^\s*/);
          if (!rest.startsWith(',')) break;
          const lookahead = rest.slice(1).replace(/^[\s,]*/, '');
          const nextName = TOKEN.exec(lookahead)?.[0];
          if (!nextName || !lookahead.slice(nextName.length).replace(/^\s*/, '').startsWith('=')) break;
          rest = lookahead;
        }
      }
    }
    challenges.push({ scheme: scheme.toLowerCase(), params, ...(token68 ? { token68 } : {}) });
    skip(/^\s*/);
    if (rest && !rest.startsWith(',')) fail();
  }
  return challenges;
}

/**
 * The Bearer or DPoP challenge from a 401/403 response, if any. A malformed header counts as no challenge.
 * When the server offers both (RFC 9449 §7.1), the fields come from the one that names an `error`, else from
 * the Bearer one; `dpop` tells that DPoP is offered either way.
 */
export function bearerChallenge(headers: Headers): BearerChallenge | undefined {
  const header = headers.get('www-authenticate');
  if (!header) return undefined;
  let challenges: AuthChallenge[];
  try {
    challenges = parseWwwAuthenticate(header);
  } catch {
    return undefined;
  }
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  const dpop = challenges.find((c) => c.scheme === 'dpop');
  const chosen = (dpop?.params.error && !bearer?.params.error ? dpop : undefined) ?? bearer ?? dpop;
  if (!chosen) return undefined;
  const { error, error_description: errorDescription, scope, resource_metadata: resourceMetadataUrl } = chosen.params;
  const scopes = scope?.split(' ').filter(Boolean);
  const algs = dpop?.params.algs?.split(' ').filter(Boolean);
  return {
    ...(error ? { error } : {}),
    ...(errorDescription ? { errorDescription } : {}),
    ...(scopes?.length ? { scopes } : {}),
    ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}),
    ...(dpop ? { dpop: algs?.length ? { algs } : {} } : {}),
  };
}
