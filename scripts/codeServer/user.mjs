// The scripted user at the browser (launch({ user }) in ./index.mjs): approves the authorization server's pages
// in any tab the extension opens (sign-in, consent, device code confirmation), and clicks "Copy & Open" when
// the device code notification shows. Only pages on the test AS and the test enterprise IdP are touched. With `{ clickCopyAndOpen: false }`
// the caller clicks "Copy & Open" itself (the real-UI run, test/ui, which looks at the notification first).
/**
 * @param {import('playwright-core').BrowserContext} context
 * @param {import('playwright-core').Page} workbench
 * @param {string | string[]} origins the authorization servers' origins (the test AS, the enterprise IdP)
 * @param {(line: string) => void} log
 * @param {{ clickCopyAndOpen?: boolean }} [options]
 * @returns {() => void} stops clicking
 */
export function actAsUser(context, workbench, origins, log, { clickCopyAndOpen = true } = {}) {
  const known = (Array.isArray(origins) ? origins : [origins]).filter(Boolean);
  context.on('page', (page) => void approve(page, known, log).catch((e) => log(`[user] ${e.message}`)));
  if (!clickCopyAndOpen) return () => {};
  let clicked = false;
  const timer = setInterval(async () => {
    if (process.env.MCP_OAUTH_TEST_SHOTS)
      await workbench.screenshot({ path: `${process.env.MCP_OAUTH_TEST_SHOTS}/ui-${Date.now()}.png` }).catch(() => {});
    // Toasts are not shown while extension tests run, so the user opens the notification center (the bell).
    const center = workbench.locator('.notifications-center');
    const button = workbench
      .locator('.notifications-toasts .monaco-button, .notifications-center .monaco-button', { hasText: 'Copy & Open' })
      .first();
    if (await button.isVisible().catch(() => false)) {
      if (clicked) return;
      clicked = true;
      log('[user] clicking Copy & Open');
      await button.click().catch((e) => log(`[user] could not click: ${e.message}`));
      await workbench.keyboard.press('Escape').catch(() => {});
      setTimeout(() => {
        clicked = false;
      }, 5000);
    } else if (!(await center.isVisible().catch(() => false))) {
      const bell = workbench
        .locator('.statusbar-item[id*="notifications"] a, .statusbar-item[id*="notifications"]')
        .first();
      if (await bell.isVisible().catch(() => false)) {
        const label = (await bell.getAttribute('aria-label').catch(() => '')) ?? '';
        if (/new notification|notifications? \(/i.test(label) || /[1-9]/.test(label))
          await bell.click().catch(() => {});
      }
    }
  }, 500);
  return () => clearInterval(timer);
}

async function approve(page, origins, log) {
  let deviceUrl; // the verification URL with its user_code, to start over from
  let last = '';
  for (let step = 0; step < 12; step++) {
    await page.waitForLoadState('domcontentloaded').catch(() => {});
    let url = new URL(page.url());
    if (origins.includes(url.origin) && url.searchParams.has('user_code')) deviceUrl ??= url.href;
    // code-server tunnels loopback URLs that extensions open through its /proxy/<port>/; the AS here is on
    // this machine's loopback, so the user goes to it directly (its pages use absolute paths).
    const tunneled = /^\/proxy\/(\d+)(\/.*)$/.exec(url.pathname);
    const asOrigin = tunneled && origins.find((origin) => String(new URL(origin).port) === tunneled[1]);
    if (asOrigin) {
      const direct = `${asOrigin}${tunneled[2]}${untangle(url.search)}`;
      log(
        `[user] opening the tunneled AS page directly: ${new URL(direct).pathname} redirect_uri=${new URL(direct).searchParams.get('redirect_uri')}`,
      );
      // The tunnel may still be redirecting this tab; a navigation it interrupts is tried again.
      for (let attempt = 1; attempt <= 3; attempt++) {
        const error = await page.goto(direct).then(
          () => undefined,
          (e) => e,
        );
        if (!error) break;
        if (attempt === 3 || !/interrupted by another navigation/.test(error.message)) {
          log(`[user] could not open the AS page: ${error.message.split('\n')[0]}`);
          break;
        }
        await page.waitForLoadState('domcontentloaded').catch(() => {});
      }
      continue;
    }
    if (!origins.includes(url.origin)) {
      if (url.protocol.startsWith('http')) log(`[user] left the AS for ${url.origin}${url.pathname}`);
      return;
    }
    // The same page after acting on it: overlapping navigations (the tunnel's and ours) can leave a form
    // whose anti-forgery cookie was replaced. A person would open the link again; so does this user.
    const here = `${url.pathname}${url.search}|${(
      await page
        .locator('body')
        .innerText()
        .catch(() => '')
    )
      .replace(/\s+/g, ' ')
      .slice(0, 200)}`;
    if (here === last && deviceUrl) {
      log(`[user] the page did not move on (${here.split('|')[1]}); opening the verification link again`);
      await page.goto(deviceUrl).catch(() => {});
      last = '';
      continue;
    }
    last = here;
    const login = page.locator('input[name="login"]');
    const confirm = page.locator(
      'form#op\\.deviceConfirmForm button[type="submit"], form#op\\.deviceConfirmForm input[type="submit"]',
    );
    const submit = page.locator('button[type="submit"]').first();
    if (await login.count()) {
      log('[user] signing in at the AS');
      await login.fill('alice');
      await page.locator('input[name="password"]').fill('any');
      await Promise.all([page.waitForNavigation().catch(() => {}), submit.click()]);
    } else if (await confirm.count()) {
      log('[user] confirming the device code');
      await Promise.all([page.waitForNavigation().catch(() => {}), confirm.first().click()]);
    } else if (await submit.count()) {
      log('[user] consenting');
      await Promise.all([page.waitForNavigation().catch(() => {}), submit.click()]);
    } else {
      const text = (
        await page
          .locator('body')
          .innerText()
          .catch(() => '')
      )
        .replace(/\s+/g, ' ')
        .slice(0, 300);
      log(`[user] nothing to do at ${url.pathname}: ${text}`);
      return; // a final page (device flow success)
    }
  }
}

/**
 * code-server's tunnel re-encodes the URL through a VS Code URI, which decodes the query and splits a
 * `redirect_uri` that has a query of its own (code-server's URI-handler callback carries `vscode-*`
 * parameters) into separate parameters. A user copying the URL would not notice; put them back together.
 * Outside the tunnel (a real, non-loopback authorization server) the URL reaches the browser unchanged.
 */
function untangle(search) {
  const params = new URLSearchParams(search);
  const redirect = params.get('redirect_uri');
  if (!redirect) return search;
  const fixed = new URL(redirect.replace('%3F', '?'));
  for (const [key, value] of [...params]) {
    if (!key.startsWith('vscode-')) continue;
    fixed.searchParams.set(key, decodeURIComponent(value)); // the tunnel's re-encoding escaped the % once more
    params.delete(key);
  }
  params.set('redirect_uri', fixed.href);
  return `?${params}`;
}
