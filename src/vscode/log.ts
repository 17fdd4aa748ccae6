import * as vscode from 'vscode';
import { safeLine, type Logger } from '../oauth/http/logger';

/** The name of the log output channel, as the README names it (**MCP OAuth: Show Log**). */
export const LOG_CHANNEL_NAME = 'MCP OAuth';

/**
 * The "MCP OAuth" LogOutputChannel seen by the core as a plain `Logger`. The channel applies the user's log
 * level. Callers keep tokens and secrets out of the message, and every line goes through `safeLine()` on its
 * way in, so neither a live token nor a credential-shaped value reaches the channel even when a caller slips.
 */
export class OutputChannelLogger implements Logger, vscode.Disposable {
  private constructor(private readonly channel: vscode.LogOutputChannel) {}

  static create(): OutputChannelLogger {
    return new OutputChannelLogger(vscode.window.createOutputChannel(LOG_CHANNEL_NAME, { log: true }));
  }

  trace(message: string, ...args: unknown[]): void {
    this.channel.trace(safeLine(message), ...args.map(redactArg));
  }

  debug(message: string, ...args: unknown[]): void {
    this.channel.debug(safeLine(message), ...args.map(redactArg));
  }

  info(message: string, ...args: unknown[]): void {
    this.channel.info(safeLine(message), ...args.map(redactArg));
  }

  warn(message: string, ...args: unknown[]): void {
    this.channel.warn(safeLine(message), ...args.map(redactArg));
  }

  error(message: string, ...args: unknown[]): void {
    this.channel.error(safeLine(message), ...args.map(redactArg));
  }

  /** Reveals the channel in the Output panel without taking focus from the editor. */
  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}

function redactArg(arg: unknown): unknown {
  if (typeof arg === 'string') return safeLine(arg);
  if (arg instanceof Error) return safeLine(`${arg.name}: ${arg.message}`);
  return typeof arg === 'object' && arg !== null ? safeLine(JSON.stringify(arg)) : arg;
}
