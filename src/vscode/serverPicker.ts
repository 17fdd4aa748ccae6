import * as vscode from 'vscode';
import type { ServerManager } from './serverManager';

/** A quick pick over the configured servers; undefined when cancelled or none exist. */
export async function pickServer(
  manager: ServerManager,
  title: string,
  filter: (id: string) => boolean = () => true,
): Promise<string | undefined> {
  const items = manager
    .snapshot()
    .servers.filter((s) => filter(s.entry.id))
    .map((s) => ({
      label: s.entry.name,
      description: s.entry.url,
      detail: s.session ? `Signed in as ${s.session.account}` : 'Not signed in',
      id: s.entry.id,
    }));
  if (items.length === 0) {
    const add = 'Add Server…';
    if ((await vscode.window.showInformationMessage('No MCP server is configured yet.', add)) === add)
      await vscode.commands.executeCommand('mcpOAuth.addServer');
    return undefined;
  }
  if (items.length === 1) return items[0]!.id;
  return (await vscode.window.showQuickPick(items, { title, matchOnDescription: true }))?.id;
}
