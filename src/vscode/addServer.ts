import * as vscode from 'vscode';
import { parseServers, slug, type ServerEntry } from './model/serverConfig';
import { clientKind } from '../oauth/client/clientKind';
import { clientKindText, oneLine } from './model/treeModel';
import type { DiscoveredServer } from '../oauth/discovery/discover';
import { McpOAuthError, quote } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import { canonicalServerUrl, isLoopbackHost } from '../oauth/http/url';
import type { ServerManager } from './serverManager';
import {
  appendServer,
  hasWorkspace,
  openServersSettings,
  targetLabel,
  workspaceOverrides,
  type ServersTarget,
} from './serverSettingsEdit';
import { UriCallbacks } from './uriCallbacks';

const TITLE = 'Add MCP Server';

/**
 * "Add Server…": asks for the URL and a name, discovers the authorization server (RFC 9728, then RFC 8414 /
 * OIDC) before anything is saved, previews what was found and how the client will register, then appends
 * the entry to user or workspace settings. Returns the new server's id, or undefined when cancelled.
 */
export async function addServer(
  manager: ServerManager,
  logger: Logger,
  initialUrl?: string,
): Promise<string | undefined> {
  const servers = manager.snapshot().servers;
  const url = await askUrl(
    servers.map((s) => s.entry),
    initialUrl,
  );
  if (!url) return undefined;
  const name = await vscode.window.showInputBox({
    title: `${TITLE} (2/2)`,
    prompt: 'A name for the server, shown in the Servers view and to Copilot',
    value: defaultName(url),
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() ? undefined : 'Enter a name'),
  });
  if (!name?.trim()) return undefined;
  const id = uniqueId(slug(name.trim()), new Set(servers.map((s) => s.entry.id)));
  const raw: Record<string, unknown> = { name: name.trim(), url, ...(id !== slug(name.trim()) ? { id } : {}) };

  const probe = await discover(manager, logger, raw);
  if (probe === 'cancelled') return undefined;

  if (probe.found) {
    let plan = clientKind({}, probe.found.authServer);
    if (plan === 'needsClientId') {
      const clientId = await askClientId(name.trim(), probe.found);
      if (clientId === undefined) return undefined;
      if (clientId) {
        raw.auth = { clientId };
        plan = 'preregistered';
      }
    }
    const save = 'Save';
    const choice = await vscode.window.showInformationMessage(
      `Add ${name.trim()}?`,
      { modal: true, detail: preview(url, probe.found, plan) },
      save,
    );
    if (choice !== save) return undefined;
  } else {
    const saveAnyway = 'Save Anyway';
    const choice = await vscode.window.showWarningMessage(
      `Could not discover how to sign in to ${name.trim()}.`,
      {
        modal: true,
        detail: `${probe.error}\n\nYou can save the server anyway and set auth.authorizationServer or auth.authorizationServerMetadataUrl in its settings entry.`,
      },
      saveAnyway,
    );
    if (choice !== saveAnyway) return undefined;
  }

  const target = await askTarget();
  if (target === undefined) return undefined;
  await appendServer(raw, target);
  logger.info(`[addServer] [${id}] added to the ${targetLabel(target)}`);

  const needsClientId = probe.found && !raw.auth && clientKind({}, probe.found.authServer) === 'needsClientId';
  const signIn = 'Sign In';
  const openSettings = 'Open Settings';
  const overridden = target === vscode.ConfigurationTarget.Global && workspaceOverrides();
  const message = overridden
    ? `Added ${name.trim()} to your user settings. This workspace sets its own mcpOAuth.servers, so it shows only in other windows.`
    : needsClientId
      ? `Added ${name.trim()}. Set auth.clientId in its settings entry before signing in.`
      : `Added ${name.trim()} to your ${targetLabel(target)}.`;
  const actions = overridden || needsClientId ? [openSettings] : [signIn];
  void vscode.window.showInformationMessage(message, ...actions).then((picked) => {
    if (picked === signIn) void vscode.commands.executeCommand('mcpOAuth.signIn', id);
    else if (picked === openSettings) void openServersSettings();
  });
  return id;
}

async function askUrl(existing: readonly ServerEntry[], initial?: string): Promise<string | undefined> {
  const value = await vscode.window.showInputBox({
    title: `${TITLE} (1/2)`,
    prompt: "The MCP server's URL (https, or http on localhost)",
    placeHolder: 'https://mcp.example.com/mcp',
    value: initial ?? 'https://',
    valueSelection: initial ? undefined : [8, 8],
    ignoreFocusOut: true,
    validateInput: (text) => {
      const trimmed = text.trim();
      if (!trimmed || trimmed === 'https://') return "Enter the server's URL";
      let canonical: string;
      try {
        canonical = canonicalServerUrl(trimmed);
      } catch (error) {
        return error instanceof McpOAuthError ? error.message : 'Enter an absolute URL';
      }
      const same = existing.find((e) => e.url === canonical);
      return same
        ? { message: `${same.name} already uses this URL`, severity: vscode.InputBoxValidationSeverity.Warning }
        : undefined;
    },
  });
  if (!value?.trim()) return undefined;
  return canonicalServerUrl(value.trim());
}

/** A name from the host: `mcp.linear.app` → "Linear"; loopback keeps host and port. */
export function defaultName(url: string): string {
  const { hostname, host } = new URL(url);
  if (isLoopbackHost(hostname) || /^[\d.]+$|:/.test(hostname)) return host;
  const labels = hostname.split('.').filter((l) => !['www', 'mcp', 'api'].includes(l));
  const main = labels.length > 1 ? labels[labels.length - 2]! : (labels[0] ?? hostname);
  return main.charAt(0).toUpperCase() + main.slice(1);
}

function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** Discovery with progress and cancellation, through the lazily loaded core. */
async function discover(
  manager: ServerManager,
  logger: Logger,
  raw: Record<string, unknown>,
): Promise<{ found: DiscoveredServer; error?: undefined } | { found?: undefined; error: string } | 'cancelled'> {
  const entry = parseServers([raw]).servers[0];
  if (!entry) return { error: parseServers([raw]).invalid[0]?.message ?? 'The entry is not valid' };
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Discovering how to sign in to ${entry.name}…`,
      cancellable: true,
    },
    async (_progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        const core = await manager.core();
        return { found: await core.discover(entry, abort.signal) };
      } catch (error) {
        if (token.isCancellationRequested) return 'cancelled' as const;
        if (error instanceof McpOAuthError) {
          logger.warn(`[addServer] [${entry.id}] discovery failed: ${error.code}: ${error.message}`);
          return { error: error.message };
        }
        logger.error(
          `[addServer] [${entry.id}] discovery failed: ${error instanceof Error ? `${error.name} ${quote(error.message)}` : 'unknown error'}`,
        );
        return { error: 'Discovery failed unexpectedly; see the log' };
      } finally {
        sub.dispose();
      }
    },
  );
}

async function askClientId(name: string, found: DiscoveredServer): Promise<string | undefined> {
  const redirect = await UriCallbacks.redirectUri().catch(() => undefined);
  return vscode.window
    .showInputBox({
      title: `${TITLE}: client id for ${name}`,
      prompt: `${oneLine(found.authServer.issuer)} offers no dynamic client registration. Enter the client id of an app registered there${redirect ? ` with the redirect URI ${redirect} (or a loopback one)` : ''}, or leave it empty to set auth.clientId later.`,
      ignoreFocusOut: true,
      validateInput: (value) => (/^\S*$/.test(value.trim()) ? undefined : 'A client id has no spaces'),
    })
    .then((value) => value?.trim());
}

async function askTarget(): Promise<ServersTarget | undefined> {
  if (!hasWorkspace()) return vscode.ConfigurationTarget.Global;
  const items: (vscode.QuickPickItem & { target: ServersTarget })[] = [
    {
      label: 'User Settings',
      target: vscode.ConfigurationTarget.Global,
      description: workspaceOverrides() ? 'not used in this workspace: it sets its own list' : 'every window',
    },
    {
      label: 'Workspace Settings',
      target: vscode.ConfigurationTarget.Workspace,
      description: 'this workspace only; shared with whoever opens it',
    },
  ];
  if (workspaceOverrides()) items.reverse();
  return (await vscode.window.showQuickPick(items, { title: `${TITLE}: save to`, ignoreFocusOut: true }))?.target;
}

/** The modal's detail: what discovery found and what the first sign-in will do. */
function preview(url: string, found: DiscoveredServer, plan: ReturnType<typeof clientKind>): string {
  const as = found.authServer;
  const scopes = found.resourceMetadata?.scopesSupported ?? as.scopes_supported;
  const via =
    found.via === 'resource_metadata'
      ? 'protected resource metadata (RFC 9728)'
      : found.via === 'override'
        ? 'the settings'
        : "the server's origin (2025-03-26 convention)";
  const lines = [
    `Server: ${url}`,
    found.defaultEndpoints
      ? `Authorization server: none published. The default endpoints at ${as.issuer} will be tried; the server may not need OAuth.`
      : `Authorization server: ${oneLine(as.issuer)} (found via ${via})`,
    `Scopes supported: ${scopes?.length ? oneLine(scopes.slice(0, 20).join(' ') + (scopes.length > 20 ? ` … (+${scopes.length - 20})` : ''), 400) : 'not advertised'}`,
    `Client registration: ${clientKindText(plan)}`,
    `Device code sign-in: ${as.device_authorization_endpoint ? 'supported' : 'not supported'}`,
    `PKCE (S256): ${as.code_challenge_methods_supported?.includes('S256') ? 'supported' : 'not advertised; the browser sign-in will be refused'}`,
  ];
  if (as.client_id_metadata_document_supported === true && plan !== 'cimd')
    lines.push('Client ID metadata documents: supported (set auth.clientMetadataUrl to use one)');
  return lines.join('\n');
}
