// The real-UI run's page helpers: what a user does in the VS Code workbench with keyboard and mouse (the
// command palette and quick picks, dialogs, notifications, the sidebar tree, the Accounts menu), each waiting
// for what a user would see. The steps (./steps) use only these and Playwright's locators.
import type { Locator, Page } from 'playwright-core';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A string as a RegExp that matches it literally. */
export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** An exact label, or a pattern, as a RegExp. */
const exactly = (label: string | RegExp): RegExp => (label instanceof RegExp ? label : new RegExp(`^${esc(label)}$`));

/** What `waitFor` resolves with: the probe's value once it is truthy. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Polls `probe` until it returns something truthy and resolves with that; throws `what` (with the last value
 * seen, or the last error) after `ms`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  ms = 30_000,
  every = 250,
): Promise<Truthy<T>> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as Truthy<T>;
    } catch (err) {
      last = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${ms / 1000} s waiting for ${what}${last !== undefined && last !== false ? ` (last seen: ${typeof last === 'string' ? last : JSON.stringify(last)})` : ''}`,
      );
    await sleep(every);
  }
}

export class Workbench {
  constructor(readonly page: Page) {}

  // ---- Quick input: the command palette and quick picks ----

  quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** The quick input's title (which says which step of a multi-step input is showing). */
  quickInputTitle(): Promise<string> {
    return this.quickInput().locator('.quick-input-title').innerText();
  }

  /** The visible quick pick rows: a closed quick pick leaves its rows in the DOM, hidden. */
  quickRows(): Locator {
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ visible: true });
  }

  /** The visible quick pick rows' text. */
  rowTexts(): Promise<string[]> {
    return this.quickRows().allInnerTexts();
  }

  private quickRow(label: string | RegExp): Locator {
    return this.quickRows()
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(label) }) })
      .first();
  }

  /** Opens the command palette, types `label` and runs the command of exactly that label; retried. */
  async runCommand(label: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('F1');
      await this.quickInput().locator('input').waitFor({ state: 'visible', timeout: 10_000 });
      await this.page.keyboard.type(label, { delay: 5 });
      const row = this.quickRow(label);
      try {
        await row.waitFor({ state: 'visible', timeout: 5_000 });
        await row.click();
        return;
      } catch (err) {
        if (attempt >= 4)
          throw new Error(
            `the command palette has no "${label}" (rows: ${JSON.stringify(await this.rowTexts().catch(() => []))})`,
            { cause: err },
          );
        await sleep(1500); // the workbench may still be registering the extension's commands
      }
    }
  }

  /** Picks the quick pick row whose label is exactly `label` (or matches the RegExp). */
  async pick(label: string | RegExp, timeout = 15_000): Promise<void> {
    const row = this.quickRow(label);
    await row.waitFor({ state: 'visible', timeout }).catch(async (err: unknown) => {
      throw new Error(
        `no quick pick row ${exactly(label)} (rows: ${JSON.stringify(await this.rowTexts().catch(() => []))})`,
        { cause: err },
      );
    });
    await row.click();
  }

  // ---- Dialogs and notifications ----

  dialog(): Locator {
    return this.page.locator('.monaco-dialog-box');
  }

  /** The dialog's button of exactly `name` (or matching the RegExp). */
  dialogButton(name: string | RegExp): Locator {
    return this.dialog()
      .locator('.monaco-button', { hasText: exactly(name) })
      .first();
  }

  /** Clicks the dialog's button `name` and waits for the dialog to close. */
  async clickDialogButton(name: string): Promise<void> {
    const button = this.dialogButton(name);
    await button.waitFor({ state: 'visible', timeout: 15_000 });
    await button.click();
    await this.dialog()
      .waitFor({ state: 'hidden', timeout: 10_000 })
      .catch(() => {});
  }

  toasts(): Locator {
    return this.page.locator('.notifications-toasts .notification-toast');
  }

  /**
   * The notification that says `text`: its toast, as a normal workbench shows it, or else its entry in the
   * notification center, which this opens.
   */
  async notification(text: string): Promise<Locator> {
    const toast = this.toasts().filter({ hasText: text }).first();
    const visible = await toast.waitFor({ state: 'visible', timeout: 15_000 }).then(
      () => true,
      () => false,
    );
    if (visible) return toast;
    const entry = this.page.locator('.notifications-center .notification-list-item', { hasText: text }).first();
    await this.runCommand('Notifications: Show Notifications');
    await entry.waitFor({ state: 'visible', timeout: 15_000 });
    return entry;
  }

  // ---- The MCP OAuth view in the sidebar ----

  /** Opens the MCP OAuth view (its activity bar icon) unless it is showing. */
  async openSidebar(): Promise<void> {
    const title = this.page.locator('.part.sidebar .title-label', { hasText: /MCP OAuth/i });
    if (!(await title.isVisible().catch(() => false)))
      await this.page.locator('.activitybar a.action-label[aria-label="MCP OAuth"]').click();
    await title.waitFor({ state: 'visible', timeout: 10_000 });
  }

  treeRows(): Locator {
    return this.page.locator('.part.sidebar .monaco-list-row');
  }

  /** The first tree row whose label is exactly `label`. */
  treeRow(label: string): Locator {
    return this.treeRows()
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(label) }) })
      .first();
  }

  /** The tree's rows as a user reads them: "label description". */
  treeText(): Promise<string[]> {
    return this.treeRows().evaluateAll((rows) =>
      rows.map((row) => {
        const name = row.querySelector('.label-name')?.textContent ?? '';
        const description = row.querySelector('.label-description')?.textContent ?? '';
        return `${name} ${description}`.replace(/\s+/g, ' ').trim();
      }),
    );
  }

  /**
   * Expands a tree row (by its label) when it is collapsed. A click can be lost when the tree re-renders under
   * it (a server's tools arriving just after its sign-in), so while the row stays collapsed a user tries again,
   * every 2 s: the Right arrow key when the row is the focused one (it expands, and never collapses), else or
   * the time after, a click.
   */
  async expand(label: string): Promise<void> {
    const row = this.treeRow(label);
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    let next = 0;
    let attempt = 0;
    await waitFor(
      `the "${label}" row to expand`,
      async () => {
        const expanded = await row.getAttribute('aria-expanded');
        if (expanded !== 'false') return expanded === 'true'; // a row that cannot expand never passes
        if (Date.now() < next) return false;
        next = Date.now() + 2000;
        const focused = /\bfocused\b/.test((await row.getAttribute('class')) ?? '');
        if (attempt++ % 2 === 1 && focused) await this.page.keyboard.press('ArrowRight');
        else await row.click();
        return false;
      },
      10_000,
    );
  }

  // ---- Editors ----

  /** An editor's text (Monaco renders spaces as no-break spaces). */
  async editorText(editor: Locator): Promise<string> {
    return (await editor.locator('.view-lines').allInnerTexts()).join('\n').replace(/\u00a0/g, ' ');
  }

  /** The output panel's editor. */
  outputEditor(): Locator {
    return this.page.locator('.part.panel .output-view .monaco-editor');
  }

  // ---- Menus: the Accounts menu ----

  /** Opens the Accounts menu (the activity bar's person icon). */
  async openAccountsMenu(): Promise<void> {
    await this.page.locator('.activitybar a.action-label[aria-label^="Accounts"]').click();
  }

  /** The open menus' items whose label matches (or is exactly) `label`. */
  menuItems(label: string | RegExp): Locator {
    return this.page.locator('.monaco-menu .action-label', {
      hasText: label instanceof RegExp ? label : exactly(label),
    });
  }

  /** Moves the mouse away from the workbench's hovers. */
  async moveAway(): Promise<void> {
    await this.page.mouse.move(900, 500);
  }
}
