// Copilot agent tool access, part 2: what agent mode does, without a Copilot account. The lm-probe helper
// (test/ui/lm-probe, from the command palette) lists vscode.lm.tools and calls whoami through
// vscode.lm.invokeTool; the user allows the call; the server answers with alice's identity, reached through the
// extension's token gateway.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findFile } from '../../../scripts/codeServer/index.mjs';
import type { Step } from '../ui';
import { waitFor } from '../workbench';

/** What the probe writes (test/ui/lm-probe/extension.js). */
interface ProbeResult {
  tools: string[];
  mcpTools: { name: string; description: string }[];
  invoked?: string;
  text?: string;
  error?: string;
}

const step: Step = {
  key: 'lm',
  title:
    "vscode.lm.tools lists the server's tools, and vscode.lm.invokeTool gets the server's answer through the gateway",
  needs: ['mcp'],
  async run({ cs, wb, peers, peersState, probeOut, shot, log }) {
    const toolCalls = async () =>
      (await peersState()).mcp[peers.MCP_OAUTH_TEST_MCP].filter((m) => m === 'tools/call').length;
    await wb.runCommand('Notifications: Clear All Notifications');
    const before = await toolCalls();
    rmSync(probeOut, { force: true });
    await wb.runCommand('MCP OAuth UI Test: Probe Language Model Tools');
    // VS Code asks before it runs an MCP tool: the user allows it.
    await waitFor('the tool confirmation', async () => /whoami/.test(await wb.dialog().innerText()), 20_000);
    await shot('lm-tool-confirmation');
    await wb.dialogButton(/^(Yes|Allow|Continue|Run)$/).click();
    const probe = await waitFor(
      "the probe's result file",
      () => existsSync(probeOut) && (JSON.parse(readFileSync(probeOut, 'utf8')) as ProbeResult),
      30_000,
    );
    if (probe.error) throw new Error(`the probe failed: ${probe.error}`);
    const names = probe.mcpTools.map((t) => t.name);
    if (!names.some((n) => /whoami$/.test(n)) || !names.some((n) => /admin_action$/.test(n)))
      throw new Error(`vscode.lm.tools has no whoami and admin_action MCP tools: ${JSON.stringify(names)}`);
    if (!/"sub":"alice"/.test(probe.text ?? ''))
      throw new Error(`${probe.invoked} answered ${JSON.stringify(probe.text)}, not alice's identity`);
    const after = await waitFor(
      'the tools/call at the MCP server',
      async () => {
        const calls = await toolCalls();
        return calls > before ? calls : undefined;
      },
      10_000,
    );
    // VS Code reached the server through the extension's token gateway, never directly.
    const channel = findFile(join(cs.dirs.userData, 'logs'), 'MCP OAuth.log');
    const channelText = channel ? readFileSync(channel, 'utf8') : '';
    if (!/\[mcp\] \[acme-tickets\] resolved to the token gateway/.test(channelText))
      throw new Error(
        `the MCP OAuth log does not say the server was resolved to the token gateway (${channel ?? 'no log'})`,
      );
    await wb
      .toasts()
      .filter({ hasText: 'answered' })
      .first()
      .waitFor({ state: 'visible', timeout: 10_000 })
      .catch(() => {});
    await shot('lm-invoke-result');
    log(
      `vscode.lm.tools: ${names.join(', ')} (of ${probe.tools.length}); ${probe.invoked} → ${probe.text}; tools/call at the server: ${after - before}`,
    );
  },
};
export default step;
