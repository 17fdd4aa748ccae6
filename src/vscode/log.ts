import * as vscode from 'vscode';
import type { Logger } from '../oauth/logger';

/** The name of the log output channel (CONTRACT.md). */
export const LOG_CHANNEL_NAME = 'MCP OAuth';

/**
 * The "MCP OAuth" LogOutputChannel seen by the core as a plain `Logger`. The channel applies the user's log
 * level and formats the extra arguments. Whoever calls it keeps tokens and secrets out of the message.
 */
export class OutputChannelLogger implements Logger, vscode.Disposable {
  private constructor(private readonly channel: vscode.LogOutputChannel) {}

  static create(): OutputChannelLogger {
    return new OutputChannelLogger(vscode.window.createOutputChannel(LOG_CHANNEL_NAME, { log: true }));
  }

  trace(message: string, ...args: unknown[]): void {
    this.channel.trace(message, ...args);
  }

  debug(message: string, ...args: unknown[]): void {
    this.channel.debug(message, ...args);
  }

  info(message: string, ...args: unknown[]): void {
    this.channel.info(message, ...args);
  }

  warn(message: string, ...args: unknown[]): void {
    this.channel.warn(message, ...args);
  }

  error(message: string, ...args: unknown[]): void {
    this.channel.error(message, ...args);
  }

  /** Reveals the channel in the Output panel without taking focus from the editor. */
  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
