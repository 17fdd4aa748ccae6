import * as vscode from 'vscode';

/**
 * Opens a URL in the user's browser exactly as given. A `vscode.Uri` decodes its query and encodes it again
 * by its own rules, which breaks parameters whose values hold `&`, `=` or `?` (a `redirect_uri` with a
 * query, as code-server's callback URIs have). The extension host passes a string through verbatim.
 */
export function openExternalUrl(url: string): Thenable<boolean> {
  return vscode.env.openExternal(url as unknown as vscode.Uri);
}
