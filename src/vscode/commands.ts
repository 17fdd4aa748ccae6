import * as vscode from 'vscode';
import { parseServers, type InvalidEntry } from './model/serverConfig';
import { timeLeft } from './model/treeModel';
import { InvalidResponseError, isCancellation, McpOAuthError, quote, type ErrorCode } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import { addServer } from './addServer';
import type { ServerManager } from './serverManager';
import { pickServer } from './serverPicker';
import { effectiveTarget, locateServer, openServersSettings, removeServerAt, targetLabel } from './serverSettingsEdit';
import { TOKEN_DETAILS_SCHEME, TokenDetailsProvider } from './tokenDetails';

/** Errors after which signing in again is the fix. */
const SIGN_IN_FIXES = new Set<ErrorCode>([
  'not_signed_in',
  'refresh_failed',
  'token_error',
  'invalid_token_response',
  'invalid_response',
  'authorization_failed',
  'authorization_denied',
  'state_mismatch',
  'iss_mismatch',
]);
/** Errors after which the device code is the way round (no callback could reach VS Code). */
const DEVICE_CODE_FIXES = new Set<ErrorCode>(['callback_timeout', 'port_in_use']);
/** Errors that a settings entry fixes. */
const SETTINGS_FIXES = new Set<ErrorCode>([
  'invalid_config',
  'registration_unavailable',
  'metadata_not_found',
  'pkce_unsupported',
  'dpop_unsupported',
  'unsupported_flow',
  'resource_mismatch',
  'issuer_mismatch',
  'insecure_url',
  'invalid_url',
]);

const MAX_BUNDLE_BYTES = 1024 * 1024;

/**
 * Registers every command of the README's command table (and the internal `mcpOAuth.openSettings`). A command that acts on
 * one server takes a tree node or a server id; without one it asks with a quick pick. Errors are shown with
 * an action that fixes them; cancellation is silent. No message ever holds a token or a secret.
 */
export function registerCommands(manager: ServerManager, logger: Logger): vscode.Disposable[] {
  const details = new TokenDetailsProvider(manager);
  const name = (id: string) => manager.entry(id)?.name ?? id;
  const signedIn = (id: string) => !!manager.sessions.get(id);
  const showLog = () => (logger as Partial<{ show(): void }>).show?.();

  /** Shows a failure with the actions that may fix it. */
  const report = (command: string, error: unknown, serverId?: string): void => {
    if (isUserCancellation(error)) return;
    const where = serverId ? ` [${serverId}]` : '';
    const actions: string[] = [];
    let message: string;
    if (error instanceof McpOAuthError) {
      logger.warn(`[${command}]${where} ${error.code}: ${error.message}`);
      message = serverId ? `${name(serverId)}: ${error.message}` : error.message;
      if (serverId && DEVICE_CODE_FIXES.has(error.code)) actions.push('Sign In with Device Code');
      else if (serverId && SIGN_IN_FIXES.has(error.code)) actions.push(command === 'signIn' ? 'Try Again' : 'Sign In');
      if (SETTINGS_FIXES.has(error.code)) actions.push('Open Settings');
    } else {
      logger.error(
        `[${command}]${where} failed: ${error instanceof Error ? `${error.name} ${quote(error.message)}` : 'unknown error'}`,
      );
      message = serverId
        ? `${name(serverId)}: the command failed unexpectedly. The log has the details.`
        : 'The command failed unexpectedly. The log has the details.';
    }
    actions.push('Show Log');
    // Not awaited: the command settles now, and the notification's action runs whenever it is chosen.
    void vscode.window.showErrorMessage(message, ...actions).then((choice) => {
      if (choice === 'Show Log') showLog();
      else if (choice === 'Open Settings') void openServersSettings();
      else if (choice === 'Sign In' || choice === 'Try Again')
        void vscode.commands.executeCommand('mcpOAuth.signIn', serverId);
      else if (choice === 'Sign In with Device Code')
        void vscode.commands.executeCommand('mcpOAuth.signInWithDeviceCode', serverId);
    });
  };

  /** A command on one server: resolves the argument (or asks), then runs guarded. */
  const serverCommand = (
    command: string,
    pickTitle: string,
    run: (id: string) => Promise<unknown>,
    needsSession = false,
  ) =>
    vscode.commands.registerCommand(`mcpOAuth.${command}`, async (arg?: unknown) => {
      let id: string | undefined;
      try {
        id = serverIdOf(arg) ?? (await chooseServer(manager, pickTitle, needsSession ? signedIn : undefined));
        if (id) await run(id);
      } catch (error) {
        report(command, error, id);
      }
    });

  const guarded = (command: string, run: (...args: unknown[]) => Promise<unknown>) =>
    vscode.commands.registerCommand(`mcpOAuth.${command}`, async (...args: unknown[]) => {
      try {
        await run(...args);
      } catch (error) {
        report(command, error);
      }
    });

  const signIn = async (id: string, flow?: 'deviceCode') => {
    const tokens = await manager.signIn(id, flow ? { flow } : {});
    if (!tokens) return;
    const account = manager.sessions.get(id)?.account;
    void vscode.window.showInformationMessage(
      account ? `Signed in to ${name(id)} as ${account}.` : `Signed in to ${name(id)}.`,
    );
  };

  return [
    details,
    vscode.workspace.registerTextDocumentContentProvider(TOKEN_DETAILS_SCHEME, details),

    guarded('addServer', (arg) => addServer(manager, logger, typeof arg === 'string' ? arg : undefined)),

    vscode.commands.registerCommand('mcpOAuth.removeServer', async (arg?: unknown) => {
      let id: string | undefined;
      try {
        if (isInvalidNode(arg)) return await removeInvalidEntry(arg.entry, logger);
        id = serverIdOf(arg) ?? (await chooseServer(manager, 'Remove which MCP server?'));
        if (id) await removeServer(manager, logger, id);
      } catch (error) {
        report('removeServer', error, id);
      }
    }),

    serverCommand('signIn', 'Sign in to which MCP server?', (id) => signIn(id)),
    serverCommand('signInWithDeviceCode', 'Sign in with a device code to which MCP server?', (id) =>
      signIn(id, 'deviceCode'),
    ),

    serverCommand(
      'signOut',
      'Sign out of which MCP server?',
      async (id) => {
        const message = await manager.signOut(id);
        logger.info(`[signOut] [${id}] ${message}`);
        void vscode.window.showInformationMessage(message);
      },
      true,
    ),

    serverCommand('importToken', 'Import a token for which MCP server?', async (id) => {
      const text = await readBundle(name(id));
      if (text === undefined) return;
      if (signedIn(id)) {
        const replace = 'Replace';
        const choice = await vscode.window.showWarningMessage(
          `Replace the current session for ${name(id)}?`,
          { modal: true, detail: 'The imported token takes its place; the current tokens are forgotten, not revoked.' },
          replace,
        );
        if (choice !== replace) return;
      }
      await manager.importToken(id, text);
      const session = manager.sessions.get(id);
      logger.info(`[importToken] [${id}] imported a token (scopes ${JSON.stringify(session?.scopes.join(' ') ?? '')})`);
      void vscode.window.showInformationMessage(
        session ? `Imported a token for ${name(id)} (${session.account}).` : `Imported a token for ${name(id)}.`,
      );
    }),

    serverCommand(
      'refreshToken',
      'Refresh the token of which MCP server?',
      async (id) => {
        await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Window, title: `Refreshing the token for ${name(id)}` },
          () => manager.refreshToken(id),
        );
        const left = timeLeft(manager.sessions.get(id)?.expiresAt, Date.now());
        void vscode.window.showInformationMessage(
          `Refreshed the access token for ${name(id)}${left && left !== 'expired' ? `; it expires in ${left}` : ''}.`,
        );
      },
      true,
    ),

    serverCommand(
      'copyAccessToken',
      'Copy the access token of which MCP server?',
      async (id) => {
        const token = await manager.accessToken(id);
        await vscode.env.clipboard.writeText(token);
        logger.info(`[copyAccessToken] [${id}] copied the access token to the clipboard`);
        const left = timeLeft(manager.sessions.get(id)?.expiresAt, Date.now());
        void vscode.window.showInformationMessage(
          `Copied the access token for ${name(id)}. Treat it like a password: whoever has it can act as you${left && left !== 'expired' ? ` for the next ${left}` : ''}.`,
        );
      },
      true,
    ),

    serverCommand('showTokenDetails', 'Show the token details of which MCP server?', (id) => details.show(id), true),

    serverCommand('resetClientRegistration', 'Reset the client registration of which MCP server?', async (id) => {
      const reset = 'Reset';
      const choice = await vscode.window.showWarningMessage(
        `Reset the client registration for ${name(id)}?`,
        {
          modal: true,
          detail:
            'The client registered at its authorization server, and a stored client secret, are forgotten. The next sign-in registers again. The current session is kept.',
        },
        reset,
      );
      if (choice !== reset) return;
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Resetting the client registration for ${name(id)}` },
        () => manager.resetClientRegistration(id),
      );
      logger.info(`[resetClientRegistration] [${id}] reset`);
      const signInNow = 'Sign In';
      void vscode.window
        .showInformationMessage(`The client registration for ${name(id)} was reset.`, signInNow)
        .then((choice) => {
          if (choice === signInNow) void vscode.commands.executeCommand('mcpOAuth.signIn', id);
        });
    }),

    // Refresh: one server when given one; from the view's title bar (or without an argument), every signed-in server.
    vscode.commands.registerCommand('mcpOAuth.refresh', async (arg?: unknown) => {
      const id = serverIdOf(arg);
      try {
        if (!id) {
          const ids = manager
            .snapshot()
            .servers.filter((s) => s.session)
            .map((s) => s.entry.id);
          await vscode.window.withProgress({ location: { viewId: 'mcpOAuth.servers' } }, () =>
            Promise.all(ids.map((each) => manager.refreshTools(each))),
          );
          return;
        }
        if (!signedIn(id)) throw new McpOAuthError('not_signed_in', 'Not signed in; sign in to list the tools');
        await vscode.window.withProgress({ location: { viewId: 'mcpOAuth.servers' } }, () => manager.refreshTools(id));
        const view = manager.snapshot().servers.find((s) => s.entry.id === id);
        if (view?.status === 'error') {
          void vscode.window
            .showErrorMessage(`${name(id)}: ${view.error ?? 'the tools could not be listed'}`, 'Sign In', 'Show Log')
            .then((choice) => {
              if (choice === 'Sign In') void vscode.commands.executeCommand('mcpOAuth.signIn', id);
              else if (choice === 'Show Log') showLog();
            });
        }
      } catch (error) {
        report('refresh', error, id);
      }
    }),

    vscode.commands.registerCommand('mcpOAuth.showLog', () => showLog()),
    guarded('openSettings', () => openServersSettings()),
  ];
}

/** The server id a command argument names: an id string, or a tree node (anything with a `serverId`). */
export function serverIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg || undefined;
  if (typeof arg === 'object' && arg !== null && 'serverId' in arg && typeof arg.serverId === 'string')
    return arg.serverId;
  return undefined;
}

function isInvalidNode(arg: unknown): arg is { kind: 'invalid'; entry: InvalidEntry } {
  return typeof arg === 'object' && arg !== null && 'kind' in arg && arg.kind === 'invalid' && 'entry' in arg;
}

function isUserCancellation(error: unknown): boolean {
  return error instanceof vscode.CancellationError || isCancellation(error);
}

/** Asks for a server; with `filter`, only among those (and says so when none qualifies). */
async function chooseServer(
  manager: ServerManager,
  title: string,
  filter?: (id: string) => boolean,
): Promise<string | undefined> {
  const servers = manager.snapshot().servers;
  if (filter && servers.length > 0 && !servers.some((s) => filter(s.entry.id))) {
    const signIn = 'Sign In…';
    void vscode.window.showInformationMessage('You are not signed in to any MCP server.', signIn).then((choice) => {
      if (choice === signIn) void vscode.commands.executeCommand('mcpOAuth.signIn');
    });
    return undefined;
  }
  return pickServer(manager, title, filter);
}

async function removeServer(manager: ServerManager, logger: Logger, id: string): Promise<void> {
  const entry = manager.require(id);
  const where = locateServer(id);
  if (!where) {
    throw new McpOAuthError(
      'invalid_config',
      `${entry.name} is not in the mcpOAuth.servers list of your ${targetLabel(effectiveTarget())}; remove it where it is defined`,
    );
  }
  const session = manager.sessions.get(id);
  const remove = 'Remove';
  const choice = await vscode.window.showWarningMessage(
    `Remove ${entry.name}?`,
    {
      modal: true,
      detail: `It is removed from your ${targetLabel(where.target)}.${session ? ' You are signed out first, and its tokens are revoked.' : ''} Its client secret, private key and DPoP keys are deleted.`,
    },
    remove,
  );
  if (choice !== remove) return;
  const { signedOut, signOutFailed } = await manager.forget(id);
  if (signedOut) logger.info(`[removeServer] [${id}] ${signedOut}`);
  // Removing still goes ahead; the tokens stay in SecretStorage until the server is added again and signed out.
  if (signOutFailed) logger.warn(`[removeServer] [${id}] sign-out failed: ${signOutFailed}`);
  logger.info(`[removeServer] [${id}] its DPoP keys, client secret and private key were deleted`);
  const again = locateServer(id);
  if (
    !again ||
    !(await removeServerAt(again.target, again.index, (raw) => parseServers([raw]).servers[0]?.id === id))
  ) {
    throw new McpOAuthError('invalid_config', `${entry.name} changed in the settings meanwhile; remove it there`);
  }
  logger.info(`[removeServer] [${id}] removed from the ${targetLabel(again.target)}`);
  void vscode.window.showInformationMessage(`Removed ${entry.name}.`);
}

/** Removes a malformed entry (reported in the tree by its label) from the list in effect. */
async function removeInvalidEntry(entry: InvalidEntry, logger: Logger): Promise<void> {
  if (entry.index < 0) return openServersSettings();
  const target = effectiveTarget();
  const remove = 'Remove';
  const choice = await vscode.window.showWarningMessage(
    `Remove the invalid entry ${entry.label}?`,
    { modal: true, detail: `It is removed from your ${targetLabel(target)}.` },
    remove,
  );
  if (choice !== remove) return;
  const labelOf = (raw: unknown, index: number) => {
    const n = (raw as { name?: unknown } | null)?.name;
    return typeof n === 'string' && n.trim() ? n.trim() : `entry ${index + 1}`;
  };
  if (!(await removeServerAt(target, entry.index, (raw) => labelOf(raw, entry.index) === entry.label))) {
    throw new McpOAuthError(
      'invalid_config',
      `The entry ${entry.label} changed in the settings meanwhile; fix it there`,
    );
  }
  logger.info(`[removeServer] removed the invalid entry ${quote(entry.label)} from the ${targetLabel(target)}`);
}

/** A token bundle from a file or pasted; undefined when cancelled. Never logged. */
async function readBundle(serverName: string): Promise<string | undefined> {
  const title = `Import a token for ${serverName}`;
  const picked = await vscode.window.showQuickPick(
    [
      { label: '$(file) From a File…', id: 'file', detail: 'A token bundle (JSON) written by `mcp-oauth export`' },
      { label: '$(clippy) Paste JSON…', id: 'paste', detail: 'The bundle is read from a hidden input box' },
    ],
    { title },
  );
  if (!picked) return undefined;
  if (picked.id === 'paste') {
    return vscode.window.showInputBox({
      title,
      prompt: 'Paste the token bundle (JSON) printed by `mcp-oauth export`',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => {
        if (!value.trim()) return 'Paste the bundle';
        try {
          JSON.parse(value);
          return undefined;
        } catch {
          return 'This is not JSON';
        }
      },
    });
  }
  const files = await vscode.window.showOpenDialog({
    title,
    canSelectMany: false,
    openLabel: 'Import',
    filters: { 'Token bundle': ['json'], 'All files': ['*'] },
  });
  const file = files?.[0];
  if (!file) return undefined;
  const stat = await vscode.workspace.fs.stat(file);
  if (stat.size > MAX_BUNDLE_BYTES)
    throw new InvalidResponseError('invalid_bundle', 'That file is too large to be a token bundle');
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
}
