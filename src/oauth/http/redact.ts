/**
 * Redaction by construction for log lines: whatever the caller wrote, values that have the shape of a
 * credential are replaced before the line reaches a log. Callers still log only ids, counts, scopes and
 * statuses; this is the net under them.
 */
const PATTERNS: readonly [RegExp, string][] = [
  // JWTs (access tokens, ID tokens, client assertions): header.payload.signature in base64url
  [/\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, '[redacted jwt]'],
  // Authorization headers
  [/\b(Bearer|Basic|DPoP)\s+[\w~+/.=-]{8,}/gi, '$1 [redacted]'],
  // Credentials in form bodies, query strings and JSON
  [
    /\b(access_token|refresh_token|id_token|code|code_verifier|device_code|client_secret|client_assertion|assertion|token|password)(["']?\s*[:=]\s*["']?)[^\s"'&,}]{4,}/gi,
    '$1$2[redacted]',
  ],
  // PEM private keys
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted private key]'],
];

export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
