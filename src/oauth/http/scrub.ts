/** Values shorter than this are no secret worth blanking (a scope, a digit, a short id), and are left alone. */
export const MIN_SECRET_LENGTH = 8;

const REDACTED = '[redacted]';

/**
 * `text` without any of `secrets`: each occurrence of a value of at least {@link MIN_SECRET_LENGTH}
 * characters becomes `[redacted]`, also in the forms a server may echo it in ({@link echoForms}), in any
 * letter case (`%2f` and `%2F`, `\u00E9` and `\u00e9`, an upper-cased echo). Where `redact()` knows the
 * shapes of credentials, this knows the exact values a request carried, so it also catches an opaque token
 * echoed in prose. For one text: it searches for each form and builds nothing, so a long secret costs little.
 */
export function scrub(text: string, secrets: Iterable<string | undefined>): string {
  const forms = formsOf(secrets);
  if (forms.length === 0) return text;
  const lower = text.toLowerCase();
  const lowered = forms.map((form) => form.toLowerCase());
  // Lower-casing that changes a length (a few non-ASCII letters) would shift the positions: match instead.
  if (lower.length !== text.length || lowered.some((form, i) => form.length !== forms[i]!.length))
    return text.replace(patternOf(forms), REDACTED);
  const found: [start: number, end: number][] = [];
  for (const form of lowered) {
    for (let at = lower.indexOf(form); at >= 0; at = lower.indexOf(form, at + 1)) found.push([at, at + form.length]);
  }
  if (found.length === 0) return text;
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let from = 0;
  for (const [start, end] of found) {
    if (start < from) {
      from = Math.max(from, end); // overlaps the previous one: one [redacted] for both
      continue;
    }
    out += text.slice(from, start) + REDACTED;
    from = end;
  }
  return out + text.slice(from);
}

/**
 * {@link scrub} with `secrets` worked out once, for many texts (every log line): one case-insensitive
 * alternation of literals, compiled once, so a line with no secret in it costs a fraction of a microsecond.
 */
export function scrubber(secrets: Iterable<string | undefined>): (text: string) => string {
  const forms = formsOf(secrets);
  if (forms.length === 0) return (text) => text;
  const pattern = patternOf(forms);
  return (text) => text.replace(pattern, REDACTED);
}

/** Every form of every value long enough to be a secret, longest first (a secret that contains another goes whole). */
function formsOf(secrets: Iterable<string | undefined>): string[] {
  const forms = new Set<string>();
  for (const value of new Set(secrets)) {
    if (!value || value.length < MIN_SECRET_LENGTH) continue;
    for (const form of echoForms(value)) forms.add(form);
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function patternOf(forms: readonly string[]): RegExp {
  return new RegExp(forms.map(escapeRegExp).join('|'), 'gi');
}

/**
 * The forms in which a server may send `value` back: as is, percent-encoded (once or twice, `+` or `%20`
 * for a space), JSON-escaped (also ASCII-only with `\u00e9` and `\/`, and JSON inside JSON), HTML-escaped,
 * and base64 or base64url at each of the three alignments it can have inside a longer base64 text (the
 * secret in `Basic base64(id:secret)`).
 */
function echoForms(value: string): string[] {
  const percent = encodeURIComponent(value);
  const encoded = [percent, percent.replace(/%20/g, '+'), new URLSearchParams([['', value]]).toString().slice(1)];
  const json = JSON.stringify(value).slice(1, -1);
  const asciiJson = json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const jsons = [json, asciiJson, asciiJson.replace(/\//g, '\\/')];
  const forms = [
    value,
    ...encoded,
    encodeURIComponent(percent),
    ...jsons,
    ...jsons.map((form) => JSON.stringify(form).slice(1, -1)), // JSON inside JSON
    value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!),
  ];
  for (const fragment of base64Fragments([value, ...encoded])) {
    forms.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'), encodeURIComponent(fragment));
  }
  return forms.filter((form) => form.length >= MIN_SECRET_LENGTH);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * The base64 text that stands for each of `encodings` at each of the three byte offsets it can start at:
 * only the characters that depend on it alone, without padding, and only fragments long enough to be no
 * accident.
 */
function base64Fragments(encodings: readonly string[]): Set<string> {
  const fragments = new Set<string>();
  for (const encoding of new Set(encodings)) {
    const bytes = Buffer.from(encoding, 'utf8');
    for (let offset = 0; offset < 3; offset++) {
      const all = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
      const fragment = all.slice(offset === 0 ? 0 : offset + 1, Math.floor((4 * (offset + bytes.length)) / 3));
      if (fragment.length >= MIN_SECRET_LENGTH) fragments.add(fragment);
    }
  }
  return fragments;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
