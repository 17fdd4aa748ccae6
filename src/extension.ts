import * as vscode from 'vscode';
import { AUTH_PROVIDER_ID, AUTH_PROVIDER_LABEL, McpOAuthAuthenticationProvider } from './vscode/authProvider';
import { registerCommands } from './vscode/commands';
import { OutputChannelLogger } from './vscode/log';
import { McpDefinitionProvider, MCP_PROVIDER_ID } from './vscode/mcpDefinitionProvider';
import { ServerManager } from './vscode/serverManager';
import { Settings } from './vscode/settings';
import { ServersTreeView } from './vscode/treeView';

// Composition root: builds the objects and registers them, nothing else. Activation stays cheap: the OAuth
// core, the MCP SDK and the token gateway live in dist/core.js, loaded on first use.

/** What `activate` returns: the extension's model and providers, for its own integration tests. */
export interface McpOAuthApi {
  readonly manager: ServerManager;
  readonly authProvider: McpOAuthAuthenticationProvider;
  readonly mcpProvider: McpDefinitionProvider;
  readonly tree: ServersTreeView;
}

export function activate(context: vscode.ExtensionContext): McpOAuthApi {
  const logger = OutputChannelLogger.create();
  const settings = new Settings();
  const manager = new ServerManager(context, settings, logger, () => import('./vscode/sessionService'));
  const authProvider = new McpOAuthAuthenticationProvider(manager, logger);
  const mcpProvider = new McpDefinitionProvider(manager, logger);
  const tree = new ServersTreeView(manager);
  context.subscriptions.push(
    logger,
    settings,
    manager,
    authProvider,
    mcpProvider,
    tree,
    vscode.window.registerUriHandler(manager.callbacks),
    vscode.authentication.registerAuthenticationProvider(AUTH_PROVIDER_ID, AUTH_PROVIDER_LABEL, authProvider, {
      supportsMultipleAccounts: true,
    }),
    vscode.lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, mcpProvider),
    ...registerCommands(manager, logger),
  );
  return { manager, authProvider, mcpProvider, tree };
}

export function deactivate(): void {}
