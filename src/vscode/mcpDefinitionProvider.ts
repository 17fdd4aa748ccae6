import * as vscode from 'vscode';
import { McpOAuthError } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import type { ServerEntry } from './model/serverConfig';
import type { ServerManager } from './serverManager';

export const MCP_PROVIDER_ID = 'mcpOAuth.servers';

type Definition = vscode.McpHttpServerDefinition | vscode.McpStdioServerDefinition;

/**
 * Hands VS Code (and so Copilot agent mode) one MCP server definition per configured server.
 * `provideMcpServerDefinitions` never prompts and never holds a token (VS Code may keep those definitions).
 * `resolveMcpServerDefinition`, called when VS Code starts a server, asks the user to allow an entry a
 * workspace's settings add, makes sure there is a session (signing in interactively when needed) and points VS Code at the token gateway, never at the server, so VS Code
 * never sees a 401 and never starts a sign-in of its own; a stdio server gets its token in its environment
 * only then.
 */
export class McpDefinitionProvider implements vscode.McpServerDefinitionProvider<Definition>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeMcpServerDefinitions = this.emitter.event;
  private readonly ids = new WeakMap<Definition, string>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly manager: ServerManager,
    private readonly logger: Logger,
  ) {
    this.subscriptions = [
      manager.onDidChangeSettings(() => this.emitter.fire()),
      // A stdio server's definition has a version per session, so VS Code starts it again with the new token.
      manager.sessions.onDidChange((change) => {
        if (manager.entry(change.id)?.transport === 'stdio') this.emitter.fire();
      }),
    ];
  }

  async provideMcpServerDefinitions(): Promise<Definition[]> {
    return this.manager.snapshot().servers.map(({ entry }) => {
      const definition =
        entry.transport === 'stdio'
          ? this.stdio(entry, {})
          : new vscode.McpHttpServerDefinition(entry.name, vscode.Uri.parse(entry.url));
      this.ids.set(definition, entry.id);
      return definition;
    });
  }

  async resolveMcpServerDefinition(definition: Definition): Promise<Definition | undefined> {
    const id =
      this.ids.get(definition) ??
      this.manager.snapshot().servers.find((s) => s.entry.name === definition.label)?.entry.id;
    const entry = id ? this.manager.entry(id) : undefined;
    if (!entry) return definition;
    if (!(await this.manager.approvals.allow(entry))) return undefined; // not allowed: VS Code does not start it
    if (entry.auth.flow !== 'none' && !this.manager.sessions.get(entry.id)) {
      this.logger.info(`[mcp] [${entry.id}] starting: sign-in needed`);
      const tokens = await this.manager.signIn(entry.id);
      if (!tokens) return undefined; // cancelled: VS Code does not start the server
    }
    if (entry.transport === 'stdio') return this.stdio(entry, await this.tokenEnv(entry));
    if (entry.auth.flow === 'none') return new vscode.McpHttpServerDefinition(entry.name, vscode.Uri.parse(entry.url));
    const route = await (await this.manager.core()).gatewayRoute(entry);
    this.logger.info(`[mcp] [${entry.id}] resolved to the token gateway`);
    return new vscode.McpHttpServerDefinition(entry.name, vscode.Uri.parse(route.url), route.headers);
  }

  /** The variable named by `tokenEnv`, with a fresh access token: only as VS Code starts the server. */
  private async tokenEnv(entry: ServerEntry): Promise<Record<string, string>> {
    if (!entry.tokenEnv || !this.manager.sessions.get(entry.id)) return {};
    try {
      return { [entry.tokenEnv]: await this.manager.accessToken(entry.id) };
    } catch (error) {
      this.logger.warn(
        `[mcp] [${entry.id}] no token for the stdio server: ${error instanceof McpOAuthError ? error.message : 'unavailable'}`,
      );
      return {};
    }
  }

  private stdio(entry: ServerEntry, token: Record<string, string>): vscode.McpStdioServerDefinition {
    const env: Record<string, string> = { ...(entry.env ?? {}), ...token };
    const session = this.manager.sessions.get(entry.id);
    // A new session (sign-in, refresh, another window) is a new version: VS Code starts the server again.
    const version = entry.tokenEnv && session ? `${session.obtainedAt}:${session.expiresAt ?? ''}` : undefined;
    return new vscode.McpStdioServerDefinition(entry.name, entry.command!, [...(entry.args ?? [])], env, version);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.emitter.dispose();
  }
}
