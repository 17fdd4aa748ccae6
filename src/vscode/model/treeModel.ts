/**
 * What the tree view and the "Add Server…" preview say about a server, computed from plain data and a clock.
 * VS Code-free so that it is unit-tested; src/vscode/treeView.ts turns it into TreeItems. Never sees a token.
 */

import type { SessionInfo } from './sessionInfo';

/** A server's state as the model reports it (structurally the VS Code layer's ServerView). */
export interface ServerSummary {
  readonly status: 'signedIn' | 'signedOut' | 'connecting' | 'error';
  readonly session?: SessionInfo;
  /** What the last renewal found: `stale` (AS unreachable, token still good) or `expired` (cannot renew). */
  readonly tokenState?: 'stale' | 'expired';
  readonly error?: string;
}

/**
 * What a server row shows:
 * - `signedIn`: a usable session (an expired token that can be refreshed counts: it renews on use);
 * - `stale`: signed in, but the authorization server is unreachable; the current token still works;
 * - `expired`: the access token has expired and cannot be renewed; sign in again;
 * - `signedOut`, `connecting`, `error`: as the model says.
 */
export type DisplayStatus = 'signedIn' | 'stale' | 'expired' | 'signedOut' | 'connecting' | 'error';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A short duration: "<1 min", "42 min", "3 h 5 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  if (ms < MINUTE) return '<1 min';
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < DAY) {
    const minutes = Math.floor((ms % HOUR) / MINUTE);
    return minutes ? `${Math.floor(ms / HOUR)} h ${minutes} min` : `${Math.floor(ms / HOUR)} h`;
  }
  const hours = Math.floor((ms % DAY) / HOUR);
  return hours ? `${Math.floor(ms / DAY)} d ${hours} h` : `${Math.floor(ms / DAY)} d`;
}

/** Time left until `expiresAt`: a duration, "expired", or undefined when the token has no known expiry. */
export function timeLeft(expiresAt: number | undefined, now: number): string | undefined {
  if (expiresAt === undefined || !Number.isFinite(expiresAt)) return undefined;
  return expiresAt <= now ? 'expired' : formatDuration(expiresAt - now);
}

export function displayStatus(server: ServerSummary, now: number): DisplayStatus {
  if (server.status !== 'signedIn') return server.status;
  const session = server.session;
  if (!session) return 'signedOut';
  if (server.tokenState === 'stale') return 'stale';
  const pastExpiry = session.expiresAt !== undefined && session.expiresAt <= now;
  if (server.tokenState === 'expired' || (pastExpiry && !session.refreshable)) return 'expired';
  return 'signedIn';
}

/**
 * The row's `contextValue`, which the menus in package.json match: `server.<status>`, plus `.session` when
 * a session is stored (so Sign Out, Refresh Token, Copy Access Token … apply).
 */
export function serverContextValue(server: ServerSummary, now: number): string {
  return `server.${displayStatus(server, now)}${server.session ? '.session' : ''}`;
}

/** The codicon for a status. */
export function statusIcon(status: DisplayStatus): string {
  switch (status) {
    case 'signedIn':
      return 'pass';
    case 'stale':
      return 'warning';
    case 'expired':
      return 'sign-in';
    case 'signedOut':
      return 'key';
    case 'connecting':
      return 'loading~spin';
    case 'error':
      return 'error';
  }
}

export function statusText(status: DisplayStatus): string {
  switch (status) {
    case 'signedIn':
      return 'Signed in';
    case 'stale':
      return 'Signed in; the authorization server is unreachable, the current token still works';
    case 'expired':
      return 'The access token has expired and cannot be renewed; sign in again';
    case 'signedOut':
      return 'Not signed in';
    case 'connecting':
      return 'Connecting…';
    case 'error':
      return 'Error';
  }
}

/** The row's description: "alice@example.test · 42 min", "alice · expired", "signed out", "connecting…". */
export function serverDescription(server: ServerSummary, now: number): string {
  const status = displayStatus(server, now);
  const session = server.session;
  if (!session) {
    if (status === 'connecting') return 'connecting…';
    if (status === 'error') return server.error ? `error: ${oneLine(server.error, 80)}` : 'error';
    return 'signed out';
  }
  const parts = [session.account];
  const left = timeLeft(session.expiresAt, now);
  if (status === 'expired') parts.push('expired');
  else if (left === 'expired') parts.push('expired, renews on use');
  else if (left) parts.push(left);
  if (status === 'stale') parts.push('offline');
  if (status === 'connecting') parts.push('connecting…');
  if (status === 'error') parts.push('error');
  return parts.join(' · ');
}

/** The Token row's description: "42 min left · refreshable · 3 scopes". */
export function tokenDescription(session: SessionInfo, now: number): string {
  const left = timeLeft(session.expiresAt, now);
  const parts = [left === undefined ? 'no expiry' : left === 'expired' ? 'expired' : `${left} left`];
  parts.push(session.refreshable ? 'refreshable' : 'not refreshable');
  parts.push(session.scopes.length === 1 ? '1 scope' : `${session.scopes.length} scopes`);
  return parts.join(' · ');
}

/** How the client was registered, in words. */
export function registrationText(method: string): string {
  switch (method) {
    case 'preregistered':
      return 'pre-registered client';
    case 'cimd':
      return 'client ID metadata document';
    case 'dcr':
      return 'dynamic client registration';
    case 'imported':
      return 'imported token';
    case 'none':
      return 'no client registration (workload identity)';
    default:
      return method;
  }
}

/** The host of a URL, or the text itself when it is not one. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The first line of a text, bounded: for descriptions that come from a server. */
export function oneLine(text: string, max = 120): string {
  const line = text.split(/\r?\n/, 1)[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A tool's input schema as indented JSON, bounded so a huge schema cannot stall a hover. */
export function schemaText(schema: unknown, max = 8000): string {
  let text: string;
  try {
    text = JSON.stringify(schema ?? {}, null, 2) ?? '{}';
  } catch {
    return '(the schema cannot be shown)';
  }
  return text.length > max ? `${text.slice(0, max)}\n…` : text;
}

/** How a first sign-in will identify the client, in words (see `clientKind` in the core). */
export function clientKindText(kind: 'preregistered' | 'cimd' | 'dcr' | 'needsClientId'): string {
  switch (kind) {
    case 'preregistered':
      return 'the pre-registered client from settings';
    case 'cimd':
      return 'a client ID metadata document (CIMD)';
    case 'dcr':
      return 'dynamic client registration (DCR)';
    case 'needsClientId':
      return 'none available: a pre-registered client id is needed (auth.clientId)';
  }
}
