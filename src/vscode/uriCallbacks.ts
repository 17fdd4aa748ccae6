import * as vscode from 'vscode';
import { CancelledError, McpOAuthError } from '../oauth/errors';

/** The extension id and the callback path of CONTRACT.md. */
export const EXTENSION_ID = 'mcp-oauth.mcp-oauth';
export const CALLBACK_PATH = '/callback';

interface Waiter {
  resolve(url: URL): void;
}

/**
 * The one URI handler. Sign-ins wait here for the browser to come back through
 * `<uriScheme>://mcp-oauth.mcp-oauth/callback`; each waiter matches on its `state`, races a timeout and
 * cancellation, and cleans up in `finally`. A callback nobody waits for is ignored (and logged).
 */
export class UriCallbacks implements vscode.UriHandler {
  private readonly waiters = new Map<string, Waiter>();

  constructor(private readonly onUnexpected: (reason: string) => void = () => undefined) {}

  handleUri(uri: vscode.Uri): void {
    if (uri.path !== CALLBACK_PATH) return this.onUnexpected(`a URI for ${JSON.stringify(uri.path)}`);
    const url = new URL(`https://callback.invalid${CALLBACK_PATH}?${uri.query}`);
    const state = url.searchParams.get('state');
    const waiter = state ? this.waiters.get(state) : undefined;
    if (!waiter) return this.onUnexpected('a callback that matches no sign-in in progress');
    waiter.resolve(url);
  }

  /** Resolves with the callback (its query: code, state, iss or error) for `state`. */
  async wait(state: string, timeoutMs: number, signal?: AbortSignal): Promise<URL> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<URL>((resolve, reject) => {
        this.waiters.set(state, { resolve });
        timer = setTimeout(
          () => reject(new McpOAuthError('callback_timeout', 'The browser did not come back in time; sign in again')),
          timeoutMs,
        );
        onAbort = () => reject(new CancelledError());
        if (signal?.aborted) onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      this.waiters.delete(state);
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Hands a pasted redirect URL to the waiter whose state it carries; false when it matches none. */
  deliver(pasted: string): boolean {
    let url: URL;
    try {
      url = new URL(pasted);
    } catch {
      return false;
    }
    const waiter = this.waiters.get(url.searchParams.get('state') ?? '');
    waiter?.resolve(url);
    return !!waiter;
  }

  get pending(): number {
    return this.waiters.size;
  }

  /** The redirect URI for this window: the URI-handler URI as the outside world reaches it. */
  static async redirectUri(): Promise<string> {
    const uri = vscode.Uri.parse(`${vscode.env.uriScheme}://${EXTENSION_ID}${CALLBACK_PATH}`);
    // toString(true): some hosts (code-server) return the query inside the path, which encoding would mangle.
    return new URL((await vscode.env.asExternalUri(uri)).toString(true)).href;
  }
}
