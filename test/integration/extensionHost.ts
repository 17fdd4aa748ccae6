// What the tests in the extension host share: the extension's API, and waiting for what VS Code does in its
// own time (a session stored, a tree refreshed, a server started).
import * as vscode from 'vscode';
import type { McpOAuthApi } from '../../src/extension';

export const EXTENSION_ID = 'mcp-oauth.mcp-oauth';

/** The extension's API, activating it on first use (later calls get the same API). */
export async function activateExtension(): Promise<McpOAuthApi> {
  return (await vscode.extensions.getExtension(EXTENSION_ID)!.activate()) as McpOAuthApi;
}

/** Polls `probe` until it gives a value, and fails naming `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
