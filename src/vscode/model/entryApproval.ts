import { createHash } from 'node:crypto';
import { escapeControls } from '../../oauth/errors';
import type { ServerEntry } from './serverConfig';

/**
 * Where the `mcpOAuth.servers` in effect come from. VS Code does not merge arrays across scopes: the most
 * specific scope that sets the array supplies all of its entries.
 */
export type SettingsSource = 'user' | 'workspace';

/**
 * Whether an entry must be approved before it may use a stored session, start a sign-in or run a command:
 * entries from a workspace's settings, which the repository's author wrote, not the user. An http entry
 * without OAuth (`flow: none`) does none of these.
 */
export function needsApproval(entry: ServerEntry, source: SettingsSource): boolean {
  return source === 'workspace' && (entry.transport === 'stdio' || entry.auth.flow !== 'none');
}

/** Identifies an approved entry exactly: any change to it (URL, command, auth, anything) needs a new approval. */
export function entryFingerprint(entry: ServerEntry): string {
  return createHash('sha256').update(canonicalJson(entry)).digest('base64url');
}

export interface ApprovalQuestion {
  readonly message: string;
  readonly detail: string;
}

/** The modal's text: what the entry is and what allowing it lets happen. Settings are hostile: escaped. */
export function approvalQuestion(entry: ServerEntry): ApprovalQuestion {
  const lines = [`URL: ${escapeControls(entry.url)}`];
  if (entry.transport === 'stdio') lines.push(`Command: ${commandLine(entry.command ?? '', entry.args ?? [])}`);
  const { authorizationServer, workloadTokenFile } = entry.auth;
  if (authorizationServer) lines.push(`Authorization server: ${escapeControls(authorizationServer)}`);
  // The file's content leaves the machine: the entry names where it goes.
  if (workloadTokenFile) lines.push(`Sends the file: ${escapeControls(workloadTokenFile)}`);
  const allows =
    entry.transport === 'stdio'
      ? 'run this command and give it the tokens of its sign-in'
      : 'sign in to this server and send it the tokens';
  return {
    message: `Allow the MCP server "${escapeControls(entry.name)}" from this workspace's settings?`,
    detail: `${lines.join('\n')}\n\nThe workspace's settings (not yours) add this server. Allow it only if you trust this workspace: MCP OAuth will then ${allows}. You are asked again if the entry changes.`,
  };
}

/** A command line as a person reads it: arguments with spaces or quotes are quoted, control characters escaped. */
function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((part) => escapeControls(/^[^\s"'\\]+$/.test(part) ? part : JSON.stringify(part)))
    .join(' ');
}

/** JSON with object keys sorted at every level, so that equal entries give equal fingerprints. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
