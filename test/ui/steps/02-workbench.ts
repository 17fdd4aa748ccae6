// The workbench loads with the extension's icon; the sidebar shows its view, made wider for the screenshots.
import type { Step } from '../ui';
import { PRESET } from '../ui';
import { waitFor } from '../workbench';

const step: Step = {
  key: 'workbench',
  title: 'the workbench loads, with the MCP OAuth icon in the activity bar',
  needs: ['install'],
  async run({ cs, page, wb }) {
    await page.goto(cs.urls.workbench);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page
      .locator('.activitybar a.action-label[aria-label="MCP OAuth"]')
      .waitFor({ state: 'visible', timeout: 60_000 });
    if (
      await page
        .locator('.part.auxiliarybar')
        .isVisible()
        .catch(() => false)
    )
      await wb.runCommand('View: Close Secondary Side Bar').catch(() => {});
    await wb.openSidebar();
    await waitFor(
      `the ${PRESET} server in the tree`,
      async () => (await wb.treeText()).some((t) => t.startsWith(PRESET)),
      30_000,
    );
    // A wider sidebar, so the rows' descriptions show in full.
    const box = await page.locator('.part.sidebar').boundingBox();
    if (box) {
      await page.mouse.move(box.x + box.width + 1, box.y + 300);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width + 120, box.y + 300, { steps: 8 });
      await page.mouse.up();
    }
  },
};
export default step;
