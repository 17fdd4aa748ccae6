/**
 * Redaction by construction for log lines and messages: whatever the caller wrote, values that have the
 * shape of a credential are replaced before the line reaches a log. Callers still log only ids, counts,
 * scopes and statuses; this is the net under them. It knows shapes, not values: `scrub()` removes the exact
 * values a request carried, and catches what no shape gives away (an opaque token echoed in prose).
 *
 * It must also leave ordinary lines alone (ids, scopes, URLs, issuers, statuses, counts), so a value is
 * redacted by its name (`refresh_token=…`, `"clientSecret": "…"`, `Authorization: …`), by a form only
 * credentials have (a JWT, a PEM private key, a vendor prefix such as `ghp_`), or by a long random-looking
 * run right after a credential word, and never because it is merely long.
 */

const REDACTED = '[redacted]';

/** Names whose value is a credential, compared without case, `-` or `_`. */
const CREDENTIAL_NAMES = new Set([
  'code',
  'devicecode',
  'authcode',
  'authorizationcode',
  'assertion',
  'dpop',
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
]);
/** …and names that end in one of these: `refresh_token`, `clientSecret`, `code-verifier`, `x-auth-token` … */
const CREDENTIAL_ENDINGS = /(?:token|secret|password|passwd|assertion|verifier)$/;
/** …or in a separate "key": `api_key`, `API_KEY`, `x-api-key`, `privateKey` (but not `key` or `monkey`). */
const KEY_ENDING = /[-_]key$/i;
const CAMEL_KEY_ENDING = /[a-z\d]Key$/;
/** Names whose unquoted value runs to the end of the line (it has spaces: `Bearer x`, `a=1; b=2`). */
const WHOLE_LINE_NAMES = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie']);
/** Names whose value starts with an authentication scheme, which is kept: it says what failed, and is no secret. */
const SCHEME_NAMES = new Set(['authorization', 'proxyauthorization']);

/** Whether a parameter, JSON key or header called `name` carries a credential. */
export function isCredentialName(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[-_]/g, '');
  return (
    CREDENTIAL_NAMES.has(normalized) ||
    CREDENTIAL_ENDINGS.test(normalized) ||
    KEY_ENDING.test(name) ||
    CAMEL_KEY_ENDING.test(name)
  );
}

/**
 * A name, quoted or not (`"`, `'`, JSON-escaped `\"` or percent-encoded `%22`) and not inside a longer word
 * (but perhaps after an encoded `&`, `?` or space), then `:` or `=` (also percent-encoded), then the opening
 * quote of its value if it has one.
 */
const NAMED_VALUE =
  /(?:(\\?["']|%2[27])|%2[06]|%3f|(?<![\w-]))([A-Za-z][\w-]*)(?:\1)?(\s*(?:[:=]|%3[ad])(\s*))(\\?["']|%2[27])?/gi;
/**
 * Where an unquoted value ends, by the separator before it: after `=` (a form or a query, whose values are
 * encoded) at white space or `&`; after `:` (JSON-like text, YAML, a header) also at a quote, a comma, a
 * semicolon or a closing bracket; after an encoded separator at those, encoded. A whole-line value (an
 * `Authorization` or `Cookie` header) ends with the line, or at `&` in a query.
 */
const VALUE_END: Readonly<Record<'form' | 'text' | 'encoded', RegExp>> = {
  form: /[\s&"<>]/,
  text: /[\s"'&,;)}\]<>]/,
  encoded: /[\s"'&<>]|%2[0267c]|%7d|%5d/i,
};
const LINE_END: Readonly<Record<'form' | 'text' | 'encoded', RegExp>> = {
  form: /[\r\n\u2028\u2029&]/,
  text: /[\r\n\u2028\u2029]/,
  encoded: /[\r\n\u2028\u2029&]|%26/i,
};
/** Values that are no secret whatever their name: booleans, null, small numbers (`"code": -32001`). */
const HARMLESS = /^(?:true|false|null|undefined|none|-?\d{1,6})$/i;
/** Looks random: has a digit, or is long and mixes upper and lower case. */
const looksRandom = (value: string): boolean =>
  /\d/.test(value) || (value.length >= 20 && /[a-z]/.test(value) && /[A-Z]/.test(value));

/** Redacts the value of every credential-named parameter, JSON member or header in `text`. */
function redactNamedValues(text: string): string {
  let out = '';
  let from = 0;
  NAMED_VALUE.lastIndex = 0;
  for (let match = NAMED_VALUE.exec(text); match; match = NAMED_VALUE.exec(text)) {
    const [prefix, , name = '', separator = '', space, opener] = match;
    if (!isCredentialName(name)) continue;
    const normalized = name.toLowerCase().replace(/[-_]/g, '');
    const start = match.index + prefix.length;
    const kind = separator.includes('%') ? 'encoded' : separator.includes('=') ? 'form' : 'text';
    const end = valueEnd(text, start, opener, (WHOLE_LINE_NAMES.has(normalized) ? LINE_END : VALUE_END)[kind]);
    const value = text.slice(start, end);
    // A plain word and an unquoted value after ": " may be prose ("token: expired"); "token: 4f9c2a…",
    // "token=…", "refresh_token: …" and "\"token\": \"…\"" are not.
    const prose = !opener && space !== '' && /^[a-z]+$/i.test(name) && !WHOLE_LINE_NAMES.has(normalized);
    if (value.length < 4 || HARMLESS.test(value) || value.startsWith('[redacted') || (prose && !looksRandom(value)))
      continue;
    out += text.slice(from, start) + (SCHEME_NAMES.has(normalized) ? withScheme(value) : REDACTED);
    from = end;
    NAMED_VALUE.lastIndex = end;
  }
  return out + text.slice(from);
}

/** The index where a value that starts at `start` ends, given its opening quote (if any). */
function valueEnd(text: string, start: number, opener: string | undefined, ending: RegExp): number {
  if (opener) {
    const closer = opener.toLowerCase();
    for (let i = start; i < text.length; i++) {
      if (text.slice(i, i + closer.length).toLowerCase() === closer) return i;
      if (closer.length === 1 && text[i] === '\\') i++; // an escaped quote does not close
    }
    return text.length;
  }
  const rest = text.slice(start);
  const end = ending.exec(rest);
  return end ? start + end.index : text.length;
}

/** `Bearer abc` → `Bearer [redacted]`; a value without a scheme → `[redacted]`. */
function withScheme(value: string): string {
  const scheme = /^([A-Za-z][\w-]{0,30})(\s+|%20|\+)(?=\S)/.exec(value);
  return scheme ? `${scheme[1]}${scheme[2]}${REDACTED}` : REDACTED;
}

/**
 * PEM private keys (RSA, EC, OPENSSH, ENCRYPTED …), also JSON-escaped, and cut off (then to the end of the
 * text). First, since its lines would otherwise end a named value early and leave the key's body behind.
 */
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/** Shapes only credentials have, whatever surrounds them. */
const SHAPES: readonly [RegExp, string | ((match: string, ...groups: string[]) => string)][] = [
  // userinfo in URLs, plain or percent-encoded: https://user:pass@host, https://<token>@host
  [/\b([a-z][a-z\d+.-]*:\/\/)[^\s/?#@"<>]+@/gi, `$1${REDACTED}@`],
  [/\b([a-z][a-z\d+.-]*%3a%2f%2f)(?:(?!%2f|%3f|%23|%40)[^\s/?#@&"<>])+%40/gi, `$1${REDACTED}%40`],
  // JWK private members (d, p, q, dp, dq, qi) and symmetric keys (k), inside JSON
  [/(\\?["'])(d|p|q|dp|dq|qi|k)\1(\s*:\s*)\1[\w-]{8,}\1/g, `$1$2$1$3$1${REDACTED}$1`],
  // JWT, JWS and JWE compact forms: a base64url JSON header (`{"`, `{ "`, `{\n` …), then 2 or 4 more parts
  [/\b(?:eyJ|eyA|ewo|ew0|ewk)[\w-]{8,}\.[\w-]*\.[\w-]*(?:\.[\w-]*\.[\w-]*)?/g, '[redacted jwt]'],
  // Vendor tokens with a known prefix: GitHub, Slack, Google, OpenAI/Anthropic, Stripe, GitLab, npm, AWS keys
  [
    /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|xox[abposre]-[\w-]{10,}|xapp-[\w-]{10,}|ya29\.[\w.-]{20,}|1\/\/[\w-]{20,}|AIza[\w-]{30,}|sk-(?:[a-z]+-)*[\w-]{20,}|[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}|glpat-[\w-]{20,}|npm_[A-Za-z0-9]{30,}|A[KS]IA[A-Z0-9]{16})\b/g,
    REDACTED,
  ],
  // Authorization schemes followed by a credential, wherever they appear
  [
    /\b(Bearer|Basic|DPoP|MAC|Negotiate|NTLM|Digest|HOBA|Mutual|AWS4-HMAC-SHA256)(\s+|%20|\+)([\w~+/.-]{8,}=*)(?![\w~+/.=-])/gi,
    (match, scheme: string, space: string, value: string) =>
      looksRandom(value) ? `${scheme}${space}${REDACTED}` : match,
  ],
  // A long random-looking run right after a credential word: "bad refresh token 4f9c2a…", "secret is Zm9v…"
  [
    /(token|secret|password|passwd|assertion|verifier|credential|code|key|cookie|jwt)(s?\b\W{1,3}(?:(?:is|was|of)\W{1,3})?)(?=[\w~+/=-]*\d)(?=[\w~+/=-]*[A-Za-z])[A-Za-z0-9][\w~+/-]{19,}=*(?![\w~+/=-])/gi,
    `$1$2${REDACTED}`,
  ],
];

/** `text` with every value that has the shape of a credential replaced by `[redacted]`. */
export function redact(text: string): string {
  let out = redactNamedValues(text.replace(PRIVATE_KEY, '[redacted private key]'));
  for (const [pattern, replacement] of SHAPES) out = out.replace(pattern, replacement as string);
  return out;
}
