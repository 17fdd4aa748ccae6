/**
 * The page the browser shows when it comes back to the loopback receiver: self-contained (inline CSS, no
 * script, no external resource) and filled in with fixed texts plus, on failure, the client's own message
 * (HTML-escaped; the core's messages never hold a secret). One page for the CLI and VS Code.
 */
export type CallbackPageKind = 'success' | 'error';

const STYLE =
  ':root { --bg: #f6f7f9; --card: #ffffff; --text: #1f2328; --muted: #59636e; --border: #d1d9e0; --ok: #1a7f37; --fail: #cf222e; } @media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #9198a1; --border: #30363d; --ok: #3fb950; --fail: #f85149; } } * { box-sizing: border-box; } html, body { height: 100%; margin: 0; } body { display: grid; place-items: center; padding: 1.5rem; background: var(--bg); color: var(--text); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; -webkit-font-smoothing: antialiased; } main { width: 100%; max-width: 28rem; padding: 2.25rem 2rem 2rem; background: var(--card); border: 1px solid var(--border); border-radius: 12px; box-shadow: 0 1px 3px rgb(0 0 0 / 0.06), 0 8px 24px rgb(0 0 0 / 0.06); text-align: center; } svg { width: 3rem; height: 3rem; display: block; margin: 0 auto 1rem; } .success svg.fail, .error svg.ok { display: none; } svg.ok { color: var(--ok); } svg.fail { color: var(--fail); } h1 { margin: 0 0 0.5rem; font-size: 1.35rem; font-weight: 600; letter-spacing: -0.01em; } p { margin: 0; color: var(--muted); } footer { margin-top: 1.75rem; font-size: 0.8rem; color: var(--muted); }';

const ICONS =
  '<svg class="ok" viewBox="0 0 48 48" aria-hidden="true"><circle cx="24" cy="24" r="22" fill="none" stroke="currentColor" stroke-width="3"/><path d="M14 24.5l7 7 13-14" fill="none" stroke="currentColor" stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round"/></svg><svg class="fail" viewBox="0 0 48 48" aria-hidden="true"><circle cx="24" cy="24" r="22" fill="none" stroke="currentColor" stroke-width="3"/><path d="M17 17l14 14M31 17L17 31" fill="none" stroke="currentColor" stroke-width="3.5" stroke-linecap="round"/></svg>';

export interface CallbackPageText {
  /** Where the user goes back to: "VS Code", "your terminal". */
  readonly returnTo: string;
  /** For a failure: what failed, in the client's words. */
  readonly detail?: string;
}

/** The page for a sign-in that ended (`success`) or failed (`error`). */
export function callbackPage(kind: CallbackPageKind, text: CallbackPageText): string {
  const title = kind === 'success' ? 'Signed in' : 'Sign-in failed';
  const message =
    kind === 'success'
      ? `You can close this tab and return to ${text.returnTo}.`
      : `${text.detail ?? 'The sign-in did not complete.'} Return to ${text.returnTo} for details.`;
  return page(kind, title, message);
}

/** A page with a fixed text, for answers that end no sign-in (an unexpected or repeated request). */
export function noticePage(title: string, message: string): string {
  return page('error', title, message);
}

function page(kind: CallbackPageKind, title: string, message: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">' +
    `<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} · MCP OAuth</title><style>${STYLE}</style>` +
    `</head><body class="${kind}"><main>${ICONS}<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>` +
    '<footer>MCP OAuth</footer></main></body></html>'
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
