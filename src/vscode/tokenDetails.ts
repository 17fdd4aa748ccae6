import * as vscode from 'vscode';
import type { ServerEntry } from './model/serverConfig';
import { tokenDetails } from './model/tokenDetailsModel';
import { McpOAuthError } from '../oauth/errors';
import type { ServerManager } from './serverManager';

/** Read-only documents `mcp-oauth-token:/<server id>/<title>.json`, computed when opened. */
export const TOKEN_DETAILS_SCHEME = 'mcp-oauth-token';

/**
 * "Show Token Details": the decoded header and claims of the access token and ID token (when they are
 * JWTs), the expiry, scopes, issuer and client. Decoded for display only, never verified, and never the raw
 * token or its signature. A TextDocumentContentProvider keeps the document read-only and out of the disk.
 */
export class TokenDetailsProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly manager: ServerManager) {}

  /** Opens (or refreshes) the details for one server; throws `not_signed_in` when there is no session. */
  async show(id: string): Promise<void> {
    const entry = this.manager.require(id);
    if (!(await this.manager.storedTokens(id)))
      throw new McpOAuthError('not_signed_in', `Not signed in to ${entry.name}; sign in to see its token`);
    const uri = detailsUri(entry);
    this.emitter.fire(uri);
    let document = await vscode.workspace.openTextDocument(uri);
    if (document.languageId !== 'json') document = await vscode.languages.setTextDocumentLanguage(document, 'json');
    await vscode.window.showTextDocument(document, { preview: true });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = decodeURIComponent(uri.path.split('/')[1] ?? '');
    const entry = this.manager.entry(id);
    if (!entry) return json({ error: `No server with the id ${JSON.stringify(id)} is configured` });
    try {
      const tokens = await this.manager.storedTokens(id);
      if (!tokens) return json({ server: entry.name, error: 'Not signed in' });
      return json(tokenDetails(entry, this.manager.sessions.get(id), tokens, Date.now()));
    } catch (error) {
      return json({
        server: entry.name,
        error: error instanceof McpOAuthError ? error.message : 'The stored session could not be read',
      });
    }
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

function detailsUri(entry: ServerEntry): vscode.Uri {
  const title = `Token Details (${entry.name.replace(/[\\/:*?"<>|]+/g, '-').replace(/\s+/g, ' ')})`;
  return vscode.Uri.from({ scheme: TOKEN_DETAILS_SCHEME, path: `/${encodeURIComponent(entry.id)}/${title}.json` });
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
