import * as vscode from 'vscode';
import { parseServers } from './model/serverConfig';
import { McpOAuthError } from '../oauth/errors';
import { SECTION } from './settings';

const KEY = 'servers';

/** Where `mcpOAuth.servers` entries live: user or workspace settings. */
export type ServersTarget = vscode.ConfigurationTarget.Global | vscode.ConfigurationTarget.Workspace;

export function targetLabel(target: ServersTarget): string {
  return target === vscode.ConfigurationTarget.Global ? 'user settings' : 'workspace settings';
}

function inspect(): { globalValue?: unknown; workspaceValue?: unknown } {
  return vscode.workspace.getConfiguration(SECTION).inspect<unknown>(KEY) ?? {};
}

/** Whether a workspace is open (so workspace settings can be written). */
export function hasWorkspace(): boolean {
  return !!vscode.workspace.workspaceFile || (vscode.workspace.workspaceFolders?.length ?? 0) > 0;
}

/** Whether the workspace sets the list, which then replaces the user's (arrays do not merge). */
export function workspaceOverrides(): boolean {
  return hasWorkspace() && inspect().workspaceValue !== undefined;
}

/** The target whose list is in effect: the workspace's when it sets one, else the user's. */
export function effectiveTarget(): ServersTarget {
  return workspaceOverrides() ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

function listAt(target: ServersTarget): unknown[] {
  const values = inspect();
  const value = target === vscode.ConfigurationTarget.Global ? values.globalValue : values.workspaceValue;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new McpOAuthError(
      'invalid_config',
      `mcpOAuth.servers in your ${targetLabel(target)} is not an array; fix it first`,
    );
  return [...value];
}

/** Appends one raw entry to the list in `target`. */
export async function appendServer(raw: Record<string, unknown>, target: ServersTarget): Promise<void> {
  const list = listAt(target);
  list.push(raw);
  await vscode.workspace.getConfiguration(SECTION).update(KEY, list, target);
}

/** Where the server with this id is defined: the first entry with that id in the list in effect. */
export function locateServer(id: string): { target: ServersTarget; index: number } | undefined {
  const target = effectiveTarget();
  const index = listAt(target).findIndex((raw) => parseServers([raw]).servers[0]?.id === id);
  return index >= 0 ? { target, index } : undefined;
}

/** Removes the entry at `index` of the list in `target`, after checking it is still the one meant. */
export async function removeServerAt(
  target: ServersTarget,
  index: number,
  expect: (raw: unknown) => boolean,
): Promise<boolean> {
  const list = listAt(target);
  if (index < 0 || index >= list.length || !expect(list[index])) return false;
  list.splice(index, 1);
  await vscode.workspace.getConfiguration(SECTION).update(KEY, list, target);
  return true;
}

/** Opens the settings file that holds the list in effect, at `mcpOAuth.servers`. */
export async function openServersSettings(): Promise<void> {
  if (effectiveTarget() === vscode.ConfigurationTarget.Workspace) {
    await vscode.commands.executeCommand('workbench.action.openWorkspaceSettingsFile');
  } else {
    await vscode.commands.executeCommand('workbench.action.openSettingsJson', {
      revealSetting: { key: `${SECTION}.${KEY}`, edit: true },
    });
  }
}
