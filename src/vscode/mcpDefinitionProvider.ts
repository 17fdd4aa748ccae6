import * as vscode from 'vscode';
import type { ServerEntry } from './model/serverConfig';
import { McpOAuthError } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import type { ServerManager } from './serverManager';

export const MCP_PROVIDER_ID = 'mcpOAuth.servers';

type Definition = vscode.McpHttpServerDefinition | vscode.McpStdioServerDefinition;

/**
 * Hands VS Code (and so Copilot agent mode) one MCP server definition per configured server.
 * `provideMcpServerDefinitions` never prompts. `resolveMcpServerDefinition` makes sure there is a session
 * (signing in interactively when needed) and points VS Code at the token gateway, never at the server:
 * VS Code then never sees a 401 and never starts a sign-in of its own.
 */
export class McpDefinitionProvider implements vscode.McpServerDefinitionProvider<Definition>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeMcpServerDefinitions = this.emitter.event;
  private readonly ids = new WeakMap<Definition, string>();
  private fingerprint: string;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly manager: ServerManager,
    private readonly logger: Logger,
  ) {
    this.fingerprint = this.currentFingerprint();
    this.subscription = manager.onDidChange(() => {
      const next = this.currentFingerprint();
      if (next === this.fingerprint) return;
      this.fingerprint = next;
      this.emitter.fire();
    });
  }

  async provideMcpServerDefinitions(): Promise<Definition[]> {
    const definitions: Definition[] = [];
    for (const view of this.manager.snapshot().servers) {
      const definition =
        view.entry.transport === 'stdio'
          ? await this.stdio(view.entry)
          : new vscode.McpHttpServerDefinition(view.entry.name, vscode.Uri.parse(view.entry.url));
      this.ids.set(definition, view.entry.id);
      definitions.push(definition);
    }
    return definitions;
  }

  async resolveMcpServerDefinition(definition: Definition): Promise<Definition | undefined> {
    const id =
      this.ids.get(definition) ??
      this.manager.snapshot().servers.find((s) => s.entry.name === definition.label)?.entry.id;
    const entry = id ? this.manager.entry(id) : undefined;
    if (!entry) return definition;
    if (entry.auth.flow !== 'none' && !this.manager.sessions()[entry.id]) {
      this.logger.info(`[mcp] [${entry.id}] starting: sign-in needed`);
      const tokens = await this.manager.signIn(entry.id);
      if (!tokens) return undefined; // cancelled: VS Code does not start the server
    }
    if (entry.transport === 'stdio') return this.stdio(entry);
    if (entry.auth.flow === 'none') return new vscode.McpHttpServerDefinition(entry.name, vscode.Uri.parse(entry.url));
    const route = await (await this.manager.core()).gatewayRoute(entry);
    this.logger.info(`[mcp] [${entry.id}] resolved to the token gateway`);
    return new vscode.McpHttpServerDefinition(entry.name, vscode.Uri.parse(route.url), route.headers);
  }

  /** A stdio server gets the access token in the environment variable named by `tokenEnv`. */
  private async stdio(entry: ServerEntry): Promise<vscode.McpStdioServerDefinition> {
    const env: Record<string, string> = { ...(entry.env ?? {}) };
    let version: string | undefined;
    if (entry.tokenEnv && this.manager.sessions()[entry.id]) {
      try {
        env[entry.tokenEnv] = await this.manager.accessToken(entry.id);
        version = String(this.manager.sessions()[entry.id]?.expiresAt ?? '');
      } catch (error) {
        this.logger.warn(
          `[mcp] [${entry.id}] no token for the stdio server: ${error instanceof McpOAuthError ? error.message : 'unavailable'}`,
        );
      }
    }
    return new vscode.McpStdioServerDefinition(entry.name, entry.command!, [...(entry.args ?? [])], env, version);
  }

  /** What the definitions depend on: the settings, and (for stdio servers) whether and until when a token is held. */
  private currentFingerprint(): string {
    const sessions = this.manager.sessions();
    return JSON.stringify(
      this.manager
        .snapshot()
        .servers.map((s) => [
          s.entry,
          s.entry.transport === 'stdio' ? (sessions[s.entry.id]?.expiresAt ?? null) : !!sessions[s.entry.id],
        ]),
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
