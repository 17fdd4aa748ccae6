import * as vscode from 'vscode';
import type { ServerEntry } from './model/serverConfig';
import { registrationText, timeLeft } from './model/treeModel';
import { McpOAuthError } from '../oauth/errors';
import { claimsOf, headerOf } from '../oauth/tokens/claims';
import type { TokenSet } from '../oauth/tokens/tokenSet';
import type { ServerManager } from './serverManager';
import { renewable, type SessionInfo } from './model/sessionInfo';

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

/** What the document shows. Holds no token, no signature and no secret. */
export function tokenDetails(
  entry: ServerEntry,
  info: SessionInfo | undefined,
  tokens: TokenSet,
  now: number,
): Record<string, unknown> {
  const left = timeLeft(tokens.expiresAt, now);
  return {
    $comment: 'Decoded for display only and not verified. The raw tokens and their signatures are never shown.',
    server: { name: entry.name, id: entry.id, url: entry.url },
    account: info?.account,
    issuer: tokens.issuer,
    clientId: tokens.clientId,
    registration: info ? registrationText(info.registration) : undefined,
    tokenType: tokens.tokenType,
    grant: tokens.grantType,
    scopes: tokens.scopes,
    resource: tokens.resource,
    obtainedAt: isoTime(tokens.obtainedAt),
    expiresAt: tokens.expiresAt === undefined ? null : isoTime(tokens.expiresAt),
    expiresIn: left === undefined ? 'no expiry reported' : left,
    refreshable: renewable(tokens),
    hasRefreshToken: !!tokens.refreshToken,
    accessToken: describeToken(tokens.accessToken),
    ...(tokens.idToken ? { idToken: describeToken(tokens.idToken) } : {}),
  };
}

/**
 * A token's decoded header and claims when it is a JWS (header.payload.signature: the signature is dropped),
 * the header alone for a JWE, and only its kind for an opaque token.
 */
export function describeToken(token: string): Record<string, unknown> {
  const header = headerOf(token);
  const claims = claimsOf(token);
  if (header && claims) return { format: 'JWT', header, claims, ...claimTimes(claims) };
  if (header && !claims && token.split('.').length === 5)
    return { format: 'JWE (encrypted; only the server can read the claims)', header };
  return { format: 'opaque (not a JWT; only the authorization server can read it)' };
}

/** `exp`, `iat` and `nbf` as readable times. */
function claimTimes(claims: Record<string, unknown>): Record<string, unknown> {
  const times: Record<string, string> = {};
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    const value = claims[claim];
    if (typeof value === 'number' && Number.isFinite(value)) {
      const text = isoTime(value * 1000);
      if (text) times[claim] = text;
    }
  }
  return Object.keys(times).length ? { times } : {};
}

function isoTime(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
