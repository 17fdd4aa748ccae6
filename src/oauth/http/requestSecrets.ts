import { quote } from '../errors';
import { scrubLive } from './liveSecrets';
import { isCredentialName } from './redact';
import { scrub } from './scrub';

/**
 * The secrets a request carried, or that its sender holds, by name: what a grant fills in so that no
 * message built from the answer repeats them. The transport already notes every credential a request
 * carries ({@link secretsInRequest}); this names the others, such as the access token during a refresh.
 */
export interface RequestSecrets {
  readonly accessToken?: string;
  readonly refreshToken?: string;
  readonly idToken?: string;
  readonly code?: string;
  readonly codeVerifier?: string;
  readonly deviceCode?: string;
  readonly clientSecret?: string;
  readonly clientAssertion?: string;
  readonly subjectToken?: string;
  readonly actorToken?: string;
  readonly dpopProof?: string;
  readonly dpopKeyThumbprint?: string;
}

/** Secrets by name, or a plain list of values (`undefined` entries are skipped). */
export type Secrets = RequestSecrets | readonly (string | undefined)[];

export function secretValues(secrets: Secrets): (string | undefined)[] {
  return Array.isArray(secrets) ? [...(secrets as readonly (string | undefined)[])] : Object.values(secrets);
}

/**
 * Text a peer sent (an `error_description`, a header, a body) made fit for a message or a log line: first
 * `secrets` are scrubbed from it, before `quote()` bounds it, so that no cut leaves the first part of one;
 * then `quote()` clears it of the live secrets and of credential shapes, bounds it and JSON-encodes it.
 */
export function safeQuote(value: unknown, secrets: Secrets, max = 200): string {
  return quote(scrub(typeof value === 'string' ? value : String(value), secretValues(secrets)), max);
}

/** `text` without `secrets` or the live secrets: for peer text that is no message, such as an OAuth error code. */
export function withoutSecrets(text: string, secrets: Secrets): string {
  return scrubLive(scrub(text, secretValues(secrets)));
}

/**
 * The credentials a request carries: the values of credential-named query and form parameters and JSON
 * members (`refresh_token`, `code`, `code_verifier`, `client_secret`, `client_assertion`, `device_code` …),
 * of credential headers (`Authorization`, `DPoP` …), with and without their scheme, and the secret inside
 * HTTP Basic credentials.
 */
export function secretsInRequest(url: URL | string, init: RequestInit = {}): string[] {
  const found: string[] = [];
  const fromParams = (params: URLSearchParams): void => {
    for (const [name, value] of params) if (isCredentialName(name)) found.push(value);
  };
  fromParams(new URL(url).searchParams);
  new Headers(init.headers).forEach((value, name) => {
    if (!isCredentialName(name)) return;
    found.push(value);
    const [, scheme = '', credentials] = /^([\w-]+) +(\S.*)$/.exec(value) ?? [];
    if (!credentials) return;
    found.push(credentials);
    if (scheme.toLowerCase() === 'basic') found.push(...basicSecret(credentials));
  });
  const body = init.body;
  if (body instanceof URLSearchParams) fromParams(body);
  else if (typeof body === 'string') {
    const json = parseJson(body);
    if (json === undefined) fromParams(new URLSearchParams(body));
    else fromJson(json, found);
  }
  return found;
}

/** The secret in `base64(id:secret)`, as sent (form-encoded, RFC 6749 §2.3.1) and decoded. */
function basicSecret(credentials: string): string[] {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return [];
  const secret = decoded.slice(colon + 1);
  try {
    return [secret, decodeURIComponent(secret.replace(/\+/g, ' '))];
  } catch {
    return [secret];
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function fromJson(value: unknown, found: string[]): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [name, member] of Object.entries(value)) {
    if (typeof member === 'string' && isCredentialName(name)) found.push(member);
    else fromJson(member, found);
  }
}

const carried = new WeakMap<object, readonly string[]>();

/** Notes on `response` the credentials its request carried, for the messages built from it later. */
export function noteCarried(response: Response, url: URL | string, init?: RequestInit): Response {
  const secrets = secretsInRequest(url, init);
  if (secrets.length > 0) carried.set(response, secrets);
  return response;
}

/** The credentials the request that `response` answers carried, as the transport noted them; none if unknown. */
export function carriedBy(response: unknown): readonly string[] {
  return (typeof response === 'object' && response !== null && carried.get(response)) || [];
}
