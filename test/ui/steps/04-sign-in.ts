// Sign In…: login and consent in a new tab (the scripted user), back through the callback; the tree shows the
// account, the token's expiry, the authorization server and the tools.
import type { Step } from '../ui';
import { ADDED } from '../ui';
import { waitFor } from '../workbench';

const step: Step = {
  key: 'signIn',
  title:
    'Sign In…: login and consent in a new tab, back through the callback; the tree shows the account, expiry and tools',
  needs: ['add'],
  async run({ cs, page, wb, shot, log }) {
    const tabs = page.context().pages().length;
    await wb.runCommand('MCP OAuth: Sign In…');
    await wb.pick(ADDED);
    await waitFor('the authorization page in a new tab', () => page.context().pages().length > tabs, 20_000);
    await waitFor(
      'the scripted user to sign in and consent at the AS',
      () => cs.userLines.some((l) => l.includes('[user] consenting')),
      30_000,
    );
    await waitFor(
      'the browser to return to VS Code (the callback)',
      () => cs.userLines.some((l) => /left the AS for .*\/callback/.test(l)),
      30_000,
    );
    await page.bringToFront();
    await wb.openSidebar();
    const row = await waitFor(
      `${ADDED} to show the account and the time left`,
      async () => (await wb.treeText()).find((t) => t.startsWith(ADDED) && /alice@example\.test · \d+ min/.test(t)),
      30_000,
    );
    await wb.expand(ADDED);
    await wb.expand('Tools (2)');
    const expected = {
      'account row': /^Account alice@example\.test$/,
      'token row with its expiry': /^Token \d+ min left · refreshable/,
      'authorization server row': /^Authorization Server 127\.0\.0\.1:\d+ · dynamic client registration/,
      'whoami tool': /^whoami Who the access token belongs to/,
      'admin_action tool': /^admin_action A privileged action/,
    };
    await waitFor(
      'the account, token, authorization server and tool rows',
      async () => {
        const rows = await wb.treeText();
        const missing = Object.entries(expected)
          .filter(([, re]) => !rows.some((t) => re.test(t)))
          .map(([what]) => what);
        if (missing.length) throw new Error(`no ${missing.join(', ')} in ${JSON.stringify(rows)}`);
        return true;
      },
      10_000,
    );
    await wb.moveAway();
    await shot('tree-signed-in');
    log(`tree: ${row}`);
  },
};
export default step;
