// Test-only helper extension for the real-UI run (test/ui, npm run test:ui), installed next to the MCP OAuth
// VSIX. Its command "MCP OAuth UI Test: Probe Language Model Tools" (mcpOAuthUi.probeTools) does what Copilot
// agent mode does with an MCP server's tools, without a Copilot account: it lists vscode.lm.tools and invokes
// the first MCP tool whose name matches MCP_OAUTH_UI_PROBE_TOOL (default "whoami") through vscode.lm.invokeTool.
// It writes the outcome as JSON to the file named by MCP_OAUTH_UI_PROBE_OUT.
/* global require, exports */
const vscode = require('vscode');
const { writeFileSync } = require('node:fs');

exports.activate = (context) => {
  context.subscriptions.push(
    vscode.commands.registerCommand('mcpOAuthUi.probeTools', async () => {
      const out = process.env.MCP_OAUTH_UI_PROBE_OUT;
      const wanted = new RegExp(process.env.MCP_OAUTH_UI_PROBE_TOOL || 'whoami');
      const result = {
        at: new Date().toISOString(),
        tools: [],
        mcpTools: [],
        invoked: undefined,
        text: undefined,
        error: undefined,
      };
      try {
        result.tools = vscode.lm.tools.map((t) => t.name);
        result.mcpTools = vscode.lm.tools
          .filter((t) => t.tags.includes('mcp'))
          .map((t) => ({ name: t.name, description: t.description }));
        const tool = vscode.lm.tools.find((t) => t.tags.includes('mcp') && wanted.test(t.name));
        if (tool) {
          result.invoked = tool.name;
          const answer = await vscode.lm.invokeTool(tool.name, { input: {}, toolInvocationToken: undefined });
          result.text = answer.content.map((part) => (typeof part.value === 'string' ? part.value : '')).join('');
        }
      } catch (error) {
        result.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      if (out) writeFileSync(out, JSON.stringify(result, null, 2));
      const listed = `vscode.lm.tools has ${result.mcpTools.length} MCP tools (${result.mcpTools.map((t) => t.name).join(', ')})`;
      void vscode.window.showInformationMessage(
        result.error
          ? `${listed}; the call failed: ${result.error}`
          : result.invoked
            ? `${listed}; ${result.invoked} answered: ${String(result.text).slice(0, 200)}`
            : `${listed}; none matches ${wanted}`,
      );
    }),
  );
};

exports.deactivate = () => {};
