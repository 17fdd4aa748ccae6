// Sign In with Device Code…: the notification shows the code, Copy & Open copies it and opens the verification
// page, where the scripted user approves it; the tree updates once the AS is polled.
import type { Step } from '../ui';
import { PRESET } from '../ui';
import { sleep, waitFor } from '../workbench';

const step: Step = {
  key: 'device',
  title: 'Sign In with Device Code…: the code is shown, Copy & Open, approved in the opened tab; the tree updates',
  needs: ['workbench'],
  async run({ cs, page, wb, shot, log }) {
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.runCommand('MCP OAuth: Sign In with Device Code…');
    await wb.pick(PRESET);
    const holder = await wb.notification(`Sign in to ${PRESET}: enter the code`);
    const text = await holder.innerText();
    const code = /enter the code (\S+) at (\S+)/.exec(text);
    if (!code) throw new Error(`the notification shows no code: ${text}`);
    await sleep(300);
    await shot('device-code');
    const tabs = page.context().pages().length;
    const seen = cs.userLines.length;
    await holder.locator('.monaco-button', { hasText: 'Copy & Open' }).click();
    await waitFor('the verification page in a new tab', () => page.context().pages().length > tabs, 15_000);
    const copied = await page.evaluate(() => globalThis.navigator.clipboard.readText()).catch(() => undefined);
    log(
      `device code ${code[1]} at ${code[2]}${copied === undefined ? '' : `; clipboard ${copied === code[1] ? 'holds the code' : `holds ${JSON.stringify(copied)}`}`}`,
    );
    if (copied !== undefined && copied !== code[1])
      throw new Error(`Copy & Open copied ${JSON.stringify(copied)}, not the code ${code[1]}`);
    await waitFor(
      'the scripted user to approve the code at the AS',
      () => cs.userLines.slice(seen).some((l) => /\[user\] (confirming|consenting)/.test(l)),
      30_000,
    );
    await page.bringToFront();
    await waitFor(
      `${PRESET} to show the account (the AS is polled every 5 s)`,
      async () => (await wb.treeText()).some((t) => t.startsWith(PRESET) && /alice@example\.test · \d+ min/.test(t)),
      45_000,
    );
    await wb.expand(PRESET);
    await wb.moveAway();
    await shot('tree-device-code');
  },
};
export default step;
