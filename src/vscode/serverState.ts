import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { InvalidEntry, ServerEntry } from './model/serverConfig';
import type { SessionInfo } from './model/sessionInfo';

/** What the tree shows for a server; never holds a secret. */
export type ServerStatus = 'signedIn' | 'signedOut' | 'connecting' | 'error';

/** What is happening with a server now: kept in memory only, never persisted. */
export interface RuntimeState {
  readonly status?: ServerStatus | undefined;
  /** Undefined until listed; listing happens after sign-in and on Refresh. */
  readonly tools?: readonly Pick<Tool, 'name' | 'description' | 'inputSchema'>[] | undefined;
  /** A user-facing message for the error state. */
  readonly error?: string | undefined;
  /** `stale`: the AS is unreachable and the token still works; `expired`: it cannot be renewed. */
  readonly tokenState?: 'stale' | 'expired' | undefined;
}

export interface ServerView {
  readonly entry: ServerEntry;
  readonly status: ServerStatus;
  readonly session?: SessionInfo;
  readonly tokenState?: 'stale' | 'expired';
  readonly tools?: readonly Pick<Tool, 'name' | 'description' | 'inputSchema'>[];
  readonly error?: string;
}

export interface ServersSnapshot {
  readonly servers: readonly ServerView[];
  readonly invalid: readonly InvalidEntry[];
}
