import { homedir } from 'node:os';
import * as path from 'node:path';

/** Where the CLI keeps its state: a directory (0700) of 0600 JSON files. */
export interface StatePaths {
  readonly dir: string;
  /** Token sets, keyed by server and account. */
  readonly tokensFile: string;
  /** Client registrations, keyed by issuer. */
  readonly clientsFile: string;
  /** The flow and client options each server was signed in with (no secrets: variable names and paths). */
  readonly serversFile: string;
  /** DPoP key pairs (RFC 9449), keyed by server and issuer: secrets, like the tokens. */
  readonly dpopKeysFile: string;
}

export interface StateDirInputs {
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  readonly home?: string;
}

/**
 * `$MCP_OAUTH_HOME` when set, else the platform config directory: `$XDG_CONFIG_HOME/mcp-oauth` or
 * `~/.config/mcp-oauth` (Linux and other Unixes), `~/Library/Application Support/mcp-oauth` (macOS),
 * `%APPDATA%\mcp-oauth` (Windows).
 */
export function stateDir({
  env = process.env,
  platform = process.platform,
  home = homedir(),
}: StateDirInputs = {}): string {
  const paths = platform === 'win32' ? path.win32 : path.posix;
  const explicit = env.MCP_OAUTH_HOME;
  if (explicit) return paths.isAbsolute(explicit) ? paths.normalize(explicit) : path.resolve(explicit);
  switch (platform) {
    case 'win32':
      return paths.join(env.APPDATA || paths.join(home, 'AppData', 'Roaming'), 'mcp-oauth');
    case 'darwin':
      return paths.join(home, 'Library', 'Application Support', 'mcp-oauth');
    default: {
      // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
      const xdg = env.XDG_CONFIG_HOME;
      return paths.join(xdg && paths.isAbsolute(xdg) ? xdg : paths.join(home, '.config'), 'mcp-oauth');
    }
  }
}

export function statePaths(inputs: StateDirInputs = {}): StatePaths {
  const dir = stateDir(inputs);
  const paths = (inputs.platform ?? process.platform) === 'win32' ? path.win32 : path.posix;
  return {
    dir,
    tokensFile: paths.join(dir, 'tokens.json'),
    clientsFile: paths.join(dir, 'clients.json'),
    serversFile: paths.join(dir, 'servers.json'),
    dpopKeysFile: paths.join(dir, 'dpop-keys.json'),
  };
}
