import * as vscode from 'vscode';
import { CallbackWaiters } from '../oauth/session/callbackWaiters';
import type { RedirectReceiver } from '../oauth/session/host';
import { callbackUrl, type QueryForm } from './model/callbackUri';

/** The extension id and the callback path (a suffix per authorization server may follow: `/callback/<id>`). */
export const EXTENSION_ID = 'mcp-oauth.mcp-oauth';
export const CALLBACK_PATH = '/callback';

/**
 * The one URI handler. Sign-ins wait here (one {@link CallbackWaiters} for all of them) for the browser to
 * come back through `<uriScheme>://mcp-oauth.mcp-oauth/callback/…`; each waiter matches on its `state` and
 * its redirect path. A callback nobody waits for is ignored (and logged).
 */
export class UriCallbacks implements vscode.UriHandler {
  private readonly waiters = new CallbackWaiters();

  constructor(private readonly onUnexpected: (reason: string) => void = () => undefined) {}

  handleUri(uri: vscode.Uri): void {
    if (uri.path !== CALLBACK_PATH && !uri.path.startsWith(`${CALLBACK_PATH}/`)) {
      return this.onUnexpected(`a URI for ${JSON.stringify(uri.path)}`);
    }
    const outcome = this.waiters.deliver(callbackUrl(uri.path, uri.query, queryForm()));
    if (outcome === 'unexpected') this.onUnexpected('a callback that matches no sign-in in progress');
    else if (outcome === 'refused') this.onUnexpected("a callback on another authorization server's redirect path");
  }

  get pending(): number {
    return this.waiters.pending;
  }

  /** A receiver for one sign-in whose redirect URI has `path`: the URI-handler URI as the browser reaches it. */
  async receiver(path: string): Promise<RedirectReceiver> {
    const redirectUri = await UriCallbacks.redirectUri(path);
    const waiters = this.waiters;
    return {
      kind: 'uriHandler',
      redirectUri,
      browserUrl: async (authorizationUrl) => authorizationUrl,
      wait: (state, { timeoutMs, signal }) => waiters.wait({ state, path, timeoutMs, ...(signal ? { signal } : {}) }),
      deliver: (pasted) => {
        const url = URL.parse(pasted);
        // The address the browser ended on: the editor's URI, or VS Code for the web's callback page, which
        // carries the editor's path in `vscode-path`.
        const inner = url?.searchParams.get('vscode-path');
        if (!url) return false;
        return (
          waiters.deliver(new URL(`${inner ?? url.pathname}${url.search}`, 'https://callback.invalid')) === 'delivered'
        );
      },
      settle: () => undefined, // the page the browser shows is VS Code's own
      close: async () => undefined,
    };
  }

  /** The redirect URI for this window: the URI-handler URI at `path`, as the outside world reaches it. */
  static async redirectUri(path = CALLBACK_PATH): Promise<string> {
    const uri = vscode.Uri.parse(`${vscode.env.uriScheme}://${EXTENSION_ID}${path}`);
    // toString(true): some hosts (code-server) return the query inside the path, which encoding would mangle.
    return new URL((await vscode.env.asExternalUri(uri)).toString(true)).href;
  }
}

/**
 * How VS Code hands this window a callback's query. Desktop VS Code parses the URL the OS gives it with
 * `URI.parse`, which percent-decodes the query once; VS Code for the web passes on the query its callback page
 * re-encoded. The query must be decoded exactly once in all, or a code with `+`, `&`, `#` or `%` breaks.
 */
function queryForm(): QueryForm {
  return vscode.env.uiKind === vscode.UIKind.Web ? 'encoded' : 'decoded';
}
