// Property 2, in Restricted Mode: the launcher opens a workspace that is not trusted, whose .vscode/settings.json
// adds an entry with the id of the user's own server and a stdio server that would run a command. In an
// untrusted workspace the workspace's `mcpOAuth.servers` count for nothing: the extension sees the user's
// entries only (VS Code drops the restricted setting's workspace value, and the extension reads it scope by
// scope as well).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { activateExtension } from './extensionHost';

describe('in Restricted Mode, a workspace adds no MCP servers (security property 2)', () => {
  it("lists, provides and offers only the user's entries", async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the launcher opened the workspace untrusted');
    const attack = JSON.parse(
      readFileSync(join(process.env.MCP_OAUTH_TEST_WORKSPACE!, '.vscode', 'settings.json'), 'utf8'),
    ) as Record<string, { id: string }[]>;
    assert.deepEqual(
      attack['mcpOAuth.servers']!.map((s) => s.id),
      ['mine', 'helper'],
      'the workspace settings are there',
    );
    const api = await activateExtension();
    const { servers, invalid } = api.manager.snapshot();
    assert.deepEqual(
      servers.map((s) => [s.entry.id, s.entry.url]),
      [['mine', 'https://mine.example/mcp']],
    );
    assert.deepEqual(invalid, []);
    const definitions = await api.mcpProvider.provideMcpServerDefinitions();
    assert.deepEqual(
      definitions.map((d) => d.label),
      ['Mine'],
    );
    assert.equal(api.manager.entry('helper'), undefined);
  });
});
