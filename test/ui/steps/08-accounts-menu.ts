// The Accounts menu lists the MCP OAuth account, with its Sign Out.
import type { Step } from '../ui';
import { ADDED } from '../ui';
import { sleep } from '../workbench';

const step: Step = {
  key: 'accounts',
  title: 'the Accounts menu lists the MCP OAuth account',
  needs: ['signIn'],
  async run({ page, wb, state, shot, log }) {
    await page.keyboard.press('Escape');
    await wb.openAccountsMenu();
    const entries = wb.menuItems(/alice@example\.test.*\(MCP OAuth\)$/);
    await entries.first().waitFor({ state: 'visible', timeout: 15_000 });
    const labels = await entries.allInnerTexts();
    // One entry per server and account (the label names the server), or one per account.
    const entry = labels.find((l) => l.includes(ADDED)) ?? labels[0];
    state.menuEntry = entry;
    await entries.filter({ hasText: entry }).first().hover();
    await wb.menuItems('Sign Out').first().waitFor({ state: 'visible', timeout: 10_000 });
    await sleep(500);
    await shot('accounts-menu');
    log(`Accounts menu: ${JSON.stringify(labels)}`);
  },
};
export default step;
