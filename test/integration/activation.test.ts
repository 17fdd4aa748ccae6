import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './extensionHost';

describe('activation in a real VS Code', () => {
  it('finds the extension under development', () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not installed in this VS Code`);
    assert.equal(extension.packageJSON.name, 'mcp-oauth');
  });

  it('activates without an error', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it('registers the mcpOAuth.showLog command, which runs', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('mcpOAuth.showLog'), 'mcpOAuth.showLog is not registered');
    await vscode.commands.executeCommand('mcpOAuth.showLog');
  });
});
