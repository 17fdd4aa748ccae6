// Add Server…: the URL and the name typed in, the discovery preview, saved to User Settings.
import { readFileSync } from 'node:fs';
import type { Step } from '../ui';
import { ADDED } from '../ui';
import { sleep, waitFor } from '../workbench';

const step: Step = {
  key: 'add',
  title: 'Add Server…: the URL typed in, the discovery preview shows the issuer, saved to User Settings',
  needs: ['workbench'],
  async run({ cs, page, wb, peers, shot }) {
    await wb.runCommand('MCP OAuth: Add Server…');
    await waitFor('the URL input', async () => /Add MCP Server \(1\/2\)/.test(await wb.quickInputTitle()));
    const input = wb.quickInput().locator('input');
    await input.fill('');
    await input.pressSequentially(peers.MCP_OAUTH_TEST_MCP, { delay: 5 });
    await page.keyboard.press('Enter');
    await waitFor('the name input', async () => /Add MCP Server \(2\/2\)/.test(await wb.quickInputTitle()));
    await input.fill(ADDED);
    await page.keyboard.press('Enter');
    const preview = await waitFor(
      'the discovery preview',
      async () => {
        const text = await wb.dialog().innerText();
        return text.includes(`Add ${ADDED}?`) && text.includes('Authorization server:') ? text : undefined;
      },
      30_000,
    );
    for (const expected of [
      `Server: ${peers.MCP_OAUTH_TEST_MCP}`,
      `Authorization server: ${peers.MCP_OAUTH_TEST_AS}`,
      'protected resource metadata (RFC 9728)',
      'Scopes supported: mcp:read mcp:write',
      'Client registration: dynamic client registration',
      'Device code sign-in: supported',
      'PKCE (S256): supported',
    ]) {
      if (!preview.includes(expected)) throw new Error(`the preview lacks "${expected}":\n${preview}`);
    }
    await sleep(300);
    await shot('add-server-preview');
    await wb.clickDialogButton('Save');
    await waitFor('the "save to" pick', async () => /save to/.test(await wb.quickInputTitle()));
    await shot('add-server-target');
    await wb.pick('User Settings');
    await waitFor(
      `${ADDED} in the user settings.json`,
      () => {
        const saved = (JSON.parse(readFileSync(cs.dirs.settingsFile, 'utf8')) as Record<string, unknown>)[
          'mcpOAuth.servers'
        ] as { name?: string; url?: string }[] | undefined;
        return (saved ?? []).some((s) => s.name === ADDED && s.url === peers.MCP_OAUTH_TEST_MCP);
      },
      10_000,
    );
    await waitFor(
      `${ADDED} in the tree`,
      async () => (await wb.treeText()).some((t) => t.startsWith(`${ADDED} signed out`)),
      15_000,
    );
  },
};
export default step;
