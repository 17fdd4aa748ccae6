import { scrubLive } from './liveSecrets';
import { redact } from './redact';

/**
 * The logging seam of the core. The VS Code adapter writes to the "MCP OAuth" LogOutputChannel, the CLI to
 * stderr, tests to nothing or to an array. Callers log ids, counts, scopes and statuses, never a token, code,
 * verifier or secret, and put attacker-controlled text through `quote()` first. Every sink writes each line
 * through {@link safeLine}, the net under them.
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

/**
 * What a sink (the log channel, the CLI's stderr) writes for `line`: without the live secrets, in any form
 * they may have been echoed in, then without anything shaped like a credential.
 */
export function safeLine(line: string): string {
  return redact(scrubLive(line));
}
