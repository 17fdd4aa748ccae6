// Copilot agent tool access, part 1: VS Code's MCP client lists the server from the extension's provider,
// starts it, and it says it found the server's tools.
import type { Step } from '../ui';
import { ADDED } from '../ui';
import { sleep, waitFor } from '../workbench';

const step: Step = {
  key: 'mcp',
  title:
    'MCP: List Servers lists the server from the MCP OAuth provider; Start Server reaches Running; its output says "Discovered 2 tools"',
  needs: ['signIn'],
  async run({ page, wb, shot, log }) {
    await wb.runCommand('MCP: List Servers');
    await wb.pick(ADDED);
    const listed = await wb.rowTexts();
    await wb.pick('Start Server');
    await waitFor(
      `${ADDED} to be Running`,
      async () => {
        await wb.runCommand('MCP: List Servers');
        const rows = (
          await waitFor(
            'the server list',
            async () => {
              const r = await wb.rowTexts();
              return r.some((t) => t.startsWith(ADDED)) ? r : undefined;
            },
            10_000,
          )
        ).map((t) => t.replace(/\n/g, ' '));
        const ours = rows.find((t) => t.startsWith(ADDED));
        if (!rows.some((t) => /MCP OAuth/.test(t)))
          throw new Error(`the list has no "MCP OAuth" group: ${JSON.stringify(rows)}`);
        if (ours && /Running/.test(ours)) return true;
        await page.keyboard.press('Escape');
        await sleep(1000);
        return false;
      },
      45_000,
      0,
    );
    await shot('mcp-list-servers');
    await wb.pick(ADDED);
    await wb.pick('Show Output');
    const output = await waitFor(
      '"Discovered N tools" in the server\'s output',
      async () => {
        const text = await wb.editorText(wb.outputEditor());
        return /Discovered \d+ tools/.test(text) ? text : undefined;
      },
      30_000,
    );
    const discovered = Number(/Discovered (\d+) tools/.exec(output)?.[1]);
    if (discovered !== 2) throw new Error(`the output says Discovered ${discovered} tools, expected 2:\n${output}`);
    if (!/Connection state: Running/.test(output)) throw new Error(`the output does not say Running:\n${output}`);
    await shot('mcp-output');
    log(`server actions: ${JSON.stringify(listed)}; output: ${output.split('\n').filter(Boolean).at(-1)}`);
  },
};
export default step;
