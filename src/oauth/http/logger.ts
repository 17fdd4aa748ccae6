/**
 * The logging seam of the core. The VS Code adapter writes to the "MCP OAuth" LogOutputChannel, the CLI to
 * stderr, tests to nothing or to an array. Callers log ids, counts, scopes and statuses, never a token, code,
 * verifier or secret, and put attacker-controlled text through `quote()` first.
 */
export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

const ignore = (): void => {};

/** A Logger that drops everything: the default where none is injected. */
export const nullLogger: Logger = Object.freeze({
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
});
