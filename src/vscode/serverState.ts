import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { InvalidEntry, ServerEntry } from './model/serverConfig';
import type { SessionSummary } from './model/treeModel';

/** What the tree shows for a server; never holds a secret. */
export type ServerStatus = 'signedIn' | 'signedOut' | 'connecting' | 'error';

/** Non-secret session metadata, kept in globalState so the tree renders without touching SecretStorage. */
export type SessionInfo = SessionSummary;

export interface ServerView {
  readonly entry: ServerEntry;
  readonly status: ServerStatus;
  readonly session?: SessionInfo;
  /** Undefined until listed; listing happens after sign-in and on Refresh. */
  readonly tools?: readonly Pick<Tool, 'name' | 'description' | 'inputSchema'>[];
  /** A user-facing message for the error state. */
  readonly error?: string;
}

export interface ServersSnapshot {
  readonly servers: readonly ServerView[];
  readonly invalid: readonly InvalidEntry[];
}
