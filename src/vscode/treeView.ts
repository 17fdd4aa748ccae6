import * as vscode from 'vscode';
import type { InvalidEntry } from './model/serverConfig';
import {
  displayStatus,
  hostOf,
  oneLine,
  registrationText,
  schemaText,
  serverContextValue,
  serverDescription,
  statusIcon,
  statusText,
  timeLeft,
  tokenDescription,
  type DisplayStatus,
} from './model/treeModel';
import type { ServerManager } from './serverManager';
import type { ServersSnapshot, ServerView } from './serverState';

export const VIEW_ID = 'mcpOAuth.servers';
/** Context keys for viewsWelcome and menus. */
export const CONTEXT_HAS_SERVERS = 'mcpOAuth.hasServers';
export const CONTEXT_ANY_SIGNED_IN = 'mcpOAuth.anySignedIn';

const REFRESH_DEBOUNCE_MS = 30;
const CLOCK_TICK_MS = 60_000;

/** A row under a server. Its `contextValue` is the `detail` name (see package.json menus). */
export type ServerDetail = 'error' | 'account' | 'token' | 'authServer' | 'tools' | 'signIn' | 'connecting';

/**
 * The tree's elements. Commands take them as their argument: any node with a `serverId` names its server.
 * contextValues: `server.<status>[.session]` (see treeModel.serverContextValue), `invalidEntry`, the
 * ServerDetail names, and `tool`.
 */
export type TreeNode =
  | { readonly kind: 'server'; readonly serverId: string }
  | { readonly kind: 'invalid'; readonly entry: InvalidEntry }
  | { readonly kind: 'detail'; readonly serverId: string; readonly detail: ServerDetail }
  | { readonly kind: 'tool'; readonly serverId: string; readonly index: number };

/** The data provider, computed from one cached snapshot: no per-item async work, no secret access. */
export class ServersTreeDataProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private cached: { snapshot: ServersSnapshot; byId: Map<string, ServerView> } | undefined;

  constructor(
    private readonly manager: ServerManager,
    private readonly now: () => number = Date.now,
  ) {}

  snapshot(): ServersSnapshot {
    return this.current().snapshot;
  }

  /** Drops the cached snapshot and tells VS Code to re-render. */
  invalidate(): void {
    this.cached = undefined;
    this.emitter.fire(undefined);
  }

  /** Re-renders with the same snapshot (time left moves on). */
  repaint(): void {
    this.emitter.fire(undefined);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      const { snapshot } = this.current();
      return [
        ...snapshot.servers.map((s): TreeNode => ({ kind: 'server', serverId: s.entry.id })),
        ...snapshot.invalid.map((entry): TreeNode => ({ kind: 'invalid', entry })),
      ];
    }
    const view = 'serverId' in node ? this.view(node.serverId) : undefined;
    if (!view) return [];
    if (node.kind === 'server') return this.serverChildren(view);
    if (node.kind === 'detail' && node.detail === 'tools') {
      return (view.tools ?? []).map((_, index): TreeNode => ({ kind: 'tool', serverId: view.entry.id, index }));
    }
    return [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    if (node.kind === 'detail') return { kind: 'server', serverId: node.serverId };
    if (node.kind === 'tool') return { kind: 'detail', serverId: node.serverId, detail: 'tools' };
    return undefined;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'invalid':
        return invalidItem(node.entry);
      case 'server': {
        const view = this.view(node.serverId);
        return view ? this.serverItem(view) : gone(node.serverId);
      }
      case 'detail': {
        const view = this.view(node.serverId);
        return view ? this.detailItem(view, node.detail) : gone(node.serverId);
      }
      case 'tool': {
        const view = this.view(node.serverId);
        const tool = view?.tools?.[node.index];
        return view && tool ? toolItem(view, tool, node.index) : gone(node.serverId);
      }
    }
  }

  /** Called by VS Code on hover: the rich tooltips are built here rather than for every row. */
  resolveTreeItem(item: vscode.TreeItem, node: TreeNode): vscode.TreeItem {
    if (item.tooltip !== undefined || (node.kind !== 'server' && node.kind !== 'tool')) return item;
    const view = this.view(node.serverId);
    if (!view) return item;
    if (node.kind === 'server') item.tooltip = this.serverTooltip(view);
    else {
      const tool = view.tools?.[node.index];
      if (tool) item.tooltip = toolTooltip(tool);
    }
    return item;
  }

  private current(): { snapshot: ServersSnapshot; byId: Map<string, ServerView> } {
    if (!this.cached) {
      const snapshot = this.manager.snapshot();
      this.cached = { snapshot, byId: new Map(snapshot.servers.map((s) => [s.entry.id, s])) };
    }
    return this.cached;
  }

  private view(id: string): ServerView | undefined {
    return this.current().byId.get(id);
  }

  dispose(): void {
    this.emitter.dispose();
  }

  private serverChildren(view: ServerView): TreeNode[] {
    const serverId = view.entry.id;
    const detail = (d: ServerDetail): TreeNode => ({ kind: 'detail', serverId, detail: d });
    const rows: TreeNode[] = [];
    if (view.status === 'error' && view.error) rows.push(detail('error'));
    if (!view.session) {
      rows.push(detail(view.status === 'connecting' ? 'connecting' : 'signIn'));
      return rows;
    }
    rows.push(detail('account'), detail('token'), detail('authServer'), detail('tools'));
    return rows;
  }

  private serverItem(view: ServerView): vscode.TreeItem {
    const now = this.now();
    const status = displayStatus(view, now);
    const item = new vscode.TreeItem(view.entry.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `server/${view.entry.id}`;
    item.description = serverDescription(view, now);
    item.iconPath = statusThemeIcon(status);
    item.contextValue = serverContextValue(view, now);
    return item;
  }

  private serverTooltip(view: ServerView): vscode.MarkdownString {
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown('**').appendText(view.entry.name).appendMarkdown('**\n\n');
    line(tooltip, 'URL', view.entry.url);
    if (view.entry.transport === 'stdio') line(tooltip, 'Transport', `stdio (${view.entry.command ?? ''})`);
    if (view.session) {
      line(tooltip, 'Account', view.session.account);
      line(tooltip, 'Issuer', view.session.issuer);
    } else if (view.entry.auth.authorizationServer) {
      line(tooltip, 'Issuer', view.entry.auth.authorizationServer);
    }
    line(tooltip, 'Status', statusText(displayStatus(view, this.now())));
    if (view.error) line(tooltip, 'Error', view.error);
    if (view.tools) line(tooltip, 'Tools', String(view.tools.length));
    return tooltip;
  }

  private detailItem(view: ServerView, detail: ServerDetail): vscode.TreeItem {
    const serverId = view.entry.id;
    const session = view.session;
    const now = this.now();
    const item = new vscode.TreeItem('', vscode.TreeItemCollapsibleState.None);
    item.id = `server/${serverId}/${detail}`;
    item.contextValue = detail;
    switch (detail) {
      case 'error':
        item.label = 'Error';
        item.description = oneLine(view.error ?? 'unknown error');
        item.tooltip = view.error ?? '';
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
        item.command = { title: 'Show Log', command: 'mcpOAuth.showLog' };
        break;
      case 'signIn':
        item.label = 'Sign in to see the tools';
        item.iconPath = new vscode.ThemeIcon('sign-in');
        item.tooltip = `Sign in to ${view.entry.name}`;
        item.command = { title: 'Sign In…', command: 'mcpOAuth.signIn', arguments: [serverId] };
        break;
      case 'connecting':
        item.label = 'Signing in…';
        item.iconPath = new vscode.ThemeIcon('loading~spin');
        break;
      case 'account':
        item.label = 'Account';
        item.description = session?.account ?? '';
        item.iconPath = new vscode.ThemeIcon('account');
        item.tooltip = session ? `Signed in as ${session.account}` : '';
        break;
      case 'token': {
        item.label = 'Token';
        item.iconPath = new vscode.ThemeIcon('key');
        if (!session) break;
        item.description = tokenDescription(session, now);
        const tooltip = new vscode.MarkdownString();
        line(tooltip, 'Scopes', session.scopes.length ? session.scopes.join(' ') : '(none reported)');
        const left = timeLeft(session.expiresAt, now);
        line(
          tooltip,
          'Expires',
          session.expiresAt === undefined
            ? 'no expiry reported'
            : `${new Date(session.expiresAt).toLocaleString()} (${left === 'expired' ? 'expired' : `in ${left}`})`,
        );
        line(tooltip, 'Refreshable', session.refreshable ? 'yes' : 'no');
        if (view.tokenState) line(tooltip, 'State', view.tokenState);
        item.tooltip = tooltip;
        item.command = { title: 'Show Token Details', command: 'mcpOAuth.showTokenDetails', arguments: [serverId] };
        break;
      }
      case 'authServer': {
        item.label = 'Authorization Server';
        item.iconPath = new vscode.ThemeIcon('shield');
        if (!session) break;
        item.description = `${hostOf(session.issuer)} · ${registrationText(session.registration)}`;
        const tooltip = new vscode.MarkdownString();
        line(tooltip, 'Issuer', session.issuer);
        line(tooltip, 'Client', session.clientId);
        line(tooltip, 'Registration', registrationText(session.registration));
        item.tooltip = tooltip;
        break;
      }
      case 'tools': {
        const tools = view.tools;
        item.iconPath = new vscode.ThemeIcon('tools');
        if (tools) {
          item.label = `Tools (${tools.length})`;
          item.collapsibleState = tools.length
            ? vscode.TreeItemCollapsibleState.Collapsed
            : vscode.TreeItemCollapsibleState.None;
          if (!tools.length) item.description = 'none';
        } else if (view.status === 'connecting') {
          item.label = 'Tools';
          item.description = 'listing…';
          item.iconPath = new vscode.ThemeIcon('loading~spin');
        } else {
          item.label = 'Tools';
          item.description = view.status === 'error' ? 'could not be listed' : 'not listed yet';
          item.tooltip = 'Refresh to connect and list the tools';
          item.command = { title: 'Refresh', command: 'mcpOAuth.refresh', arguments: [serverId] };
        }
        break;
      }
    }
    return item;
  }
}

/**
 * The "Servers" view: one row per configured server (and one per malformed settings entry), then account,
 * token, authorization server and tools. Keeps the context keys for viewsWelcome and a hint when no server
 * is signed in.
 */
export class ServersTreeView implements vscode.Disposable {
  readonly provider: ServersTreeDataProvider;
  readonly view: vscode.TreeView<TreeNode>;
  private readonly disposables: vscode.Disposable[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private readonly clock: NodeJS.Timeout;
  private context: { hasServers?: boolean; anySignedIn?: boolean } = {};

  constructor(manager: ServerManager) {
    this.provider = new ServersTreeDataProvider(manager);
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this.provider, showCollapseAll: true });
    this.disposables.push(
      this.provider,
      this.view,
      manager.onDidChange(() => this.scheduleRefresh()),
      this.view.onDidChangeVisibility((e) => {
        if (e.visible) this.provider.repaint();
      }),
    );
    // Time left moves on: repaint every minute while the view is visible and some token has an expiry.
    this.clock = setInterval(() => {
      if (this.view.visible && this.provider.snapshot().servers.some((s) => s.session?.expiresAt !== undefined))
        this.provider.repaint();
    }, CLOCK_TICK_MS);
    this.updateContext();
  }

  /** Re-reads the model now (the change events are debounced). */
  refresh(): void {
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.provider.invalidate();
    this.updateContext();
  }

  private scheduleRefresh(): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  private updateContext(): void {
    const { servers, invalid } = this.provider.snapshot();
    const hasServers = servers.length > 0 || invalid.length > 0;
    const anySignedIn = servers.some((s) => !!s.session);
    if (hasServers !== this.context.hasServers)
      void vscode.commands.executeCommand('setContext', CONTEXT_HAS_SERVERS, hasServers);
    if (anySignedIn !== this.context.anySignedIn)
      void vscode.commands.executeCommand('setContext', CONTEXT_ANY_SIGNED_IN, anySignedIn);
    this.context = { hasServers, anySignedIn };
    // viewsWelcome only shows in an empty tree, so the signed-out hint is the view's message.
    this.view.message =
      servers.length > 0 && !anySignedIn
        ? 'Sign in to a server so that Copilot agent mode can use its tools.'
        : undefined;
  }

  dispose(): void {
    clearTimeout(this.debounce);
    clearInterval(this.clock);
    for (const d of this.disposables.reverse()) d.dispose();
  }
}

function statusThemeIcon(status: DisplayStatus): vscode.ThemeIcon {
  const color =
    status === 'signedIn'
      ? 'testing.iconPassed'
      : status === 'error'
        ? 'list.errorForeground'
        : status === 'stale' || status === 'expired'
          ? 'list.warningForeground'
          : undefined;
  return new vscode.ThemeIcon(statusIcon(status), color ? new vscode.ThemeColor(color) : undefined);
}

function invalidItem(entry: InvalidEntry): vscode.TreeItem {
  const item = new vscode.TreeItem(entry.label, vscode.TreeItemCollapsibleState.None);
  item.id = `invalid/${entry.index}/${entry.label}`;
  item.description = `invalid: ${oneLine(entry.message, 80)}`;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown('**').appendText(entry.label).appendMarkdown('** is ignored\n\n').appendText(entry.message);
  tooltip.appendMarkdown('\n\nFix it in the `mcpOAuth.servers` setting.');
  item.tooltip = tooltip;
  item.contextValue = 'invalidEntry';
  item.command = { title: 'Open Settings', command: 'mcpOAuth.openSettings' };
  return item;
}

function toolItem(view: ServerView, tool: NonNullable<ServerView['tools']>[number], index: number): vscode.TreeItem {
  const item = new vscode.TreeItem(tool.name, vscode.TreeItemCollapsibleState.None);
  item.id = `server/${view.entry.id}/tools/${index}`;
  if (tool.description) item.description = oneLine(tool.description);
  item.iconPath = new vscode.ThemeIcon('symbol-method');
  item.contextValue = 'tool';
  return item;
}

/** The description and the whole input schema; built on hover only (200 servers × 100 tools add up). */
function toolTooltip(tool: NonNullable<ServerView['tools']>[number]): vscode.MarkdownString {
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown('**').appendText(tool.name).appendMarkdown('**\n\n');
  if (tool.description)
    tooltip
      .appendText(tool.description.length > 2000 ? `${tool.description.slice(0, 2000)}…` : tool.description)
      .appendMarkdown('\n\n');
  tooltip.appendCodeblock(schemaText(tool.inputSchema), 'json');
  return tooltip;
}

function gone(serverId: string): vscode.TreeItem {
  const item = new vscode.TreeItem(serverId, vscode.TreeItemCollapsibleState.None);
  item.description = 'removed';
  return item;
}

/** "**Field:** value", with the value escaped (it may come from a server). */
function line(md: vscode.MarkdownString, field: string, value: string): void {
  md.appendMarkdown(`**${field}:** `).appendText(value).appendMarkdown('  \n');
}
