import * as vscode from 'vscode';
import { OutputChannelLogger } from './vscode/log';

/**
 * Composition root: builds the objects and registers them, nothing else. Keep it cheap: no network, no
 * file system and no heavy modules here. Later features are wired in as they land.
 */
export function activate(context: vscode.ExtensionContext): void {
  const logger = OutputChannelLogger.create();
  context.subscriptions.push(
    logger,
    vscode.commands.registerCommand('mcpOAuth.showLog', () => logger.show()),
  );
  logger.info(`[activate] MCP OAuth ${String(context.extension.packageJSON.version ?? '')} in ${vscode.env.appName}`);
}

export function deactivate(): void {}
