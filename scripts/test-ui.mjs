// `npm run test:ui`: the extension as a user meets it. Packages the VSIX (`npm run package`), installs it into a
// fresh code-server 1.139.1 (the VS Code server build) exactly as a marketplace install would, and drives the
// real workbench with headless Chromium (playwright-core) against the real peers (test/integration/peers.ts:
// an oidc-provider AS and two protected MCP servers). Every step asserts what a user sees and saves a
// screenshot; one line per step, `ok` or `FAIL`, then a closing `N passed, N failed`.
//
//   node scripts/test-ui.mjs [--vsix=FILE] [--keep] [--update-screenshots]
//
//   --vsix=FILE            install this VSIX instead of running `npm run package`
//   --keep                 keep the temp folder (logs, screenshots) after a passing run too
//   --update-screenshots   copy the README's screenshots from this run into media/screenshots/
//
// The steps: Add Server… with its discovery preview; Sign In… in the browser (login and consent in a new tab,
// back through the URI handler) with the sidebar tree showing account, expiry and tools; Sign In with Device
// Code… (Copy & Open, approved in the opened tab); "MCP: List Servers" listing the server from the extension's
// provider, "Start Server" reaching Running and its output saying "Discovered N tools"; the tools in
// vscode.lm.tools and a vscode.lm.invokeTool call answered by the server through the token gateway (from
// test/ui/lm-probe, a test-only helper extension installed next to the VSIX, run from the command palette:
// what Copilot agent mode does, without a Copilot account); the Accounts menu listing the account, and its
// Sign Out revoking the refresh token at the AS (checked with the peers' admin endpoint: a revocation request,
// and AS introspection calling the token inactive).
//
// Environment: MCP_OAUTH_TEST_TIMEOUT_MS (the whole run's limit, default 300000), MCP_OAUTH_TEST_KEEP=1 (same
// as --keep), MCP_OAUTH_TEST_VERBOSE=1 (echo the scripted user's log live).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BROWSER_ARGS,
  QUIET_SETTINGS,
  codeServerEnv,
  codeServerFlags,
  findFile,
  freePort,
  startCodeServer,
  startPeers,
  tail,
} from './codeServer.mjs';
import { actAsUser } from './integrationUser.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1);
const log = (...a) => console.log(`[ui +${elapsed()}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The server added through the UI, and the one already in the settings (signed in with a device code). */
const ADDED = 'Acme Tickets';
const PRESET = 'Tickets';
/** The screenshots the README shows: this run's screenshots/NN-<name>.png → media/screenshots/<file>. */
const README_SHOTS = {
  'add-server-preview': 'add-server.png',
  'tree-signed-in': 'sidebar.png',
  'device-code': 'device-code.png',
  'lm-tool-confirmation': 'agent-tool-call.png',
  'accounts-menu': 'accounts-menu.png',
};

function parseArgs(argv) {
  const opts = { vsix: undefined, keep: process.env.MCP_OAUTH_TEST_KEEP === '1', updateScreenshots: false };
  for (const a of argv) {
    if (a === '--keep') opts.keep = true;
    else if (a === '--update-screenshots') opts.updateScreenshots = true;
    else if (a.startsWith('--vsix=')) opts.vsix = resolve(a.slice('--vsix='.length));
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

/** Polls `probe` until it returns something truthy; throws `what` (with the last value seen) after `ms`. */
async function waitFor(what, probe, ms = 30_000, every = 250) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
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

/** `npm run package` (scripts/package.mjs, the production build through vsce); returns the VSIX it wrote. */
function packageExtension() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (!pkg.scripts?.package) throw new Error('package.json has no "package" script');
  const vsix = join(root, `${pkg.name}-${pkg.version}.vsix`);
  rmSync(vsix, { force: true });
  const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(vsix))
    throw new Error(`npm run package failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return vsix;
}

/** Packs the test-only helper extension test/ui/lm-probe with vsce into `out`. */
function packProbe(node24, out) {
  const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(node24, [vsce, 'package', '--no-dependencies', '--skip-license', '--out', out], {
    cwd: join(root, 'test', 'ui', 'lm-probe'),
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.status !== 0 || !existsSync(out))
    throw new Error(`packing test/ui/lm-probe failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const timeoutMs = Number(process.env.MCP_OAUTH_TEST_TIMEOUT_MS) || 300_000;
  const verbose = process.env.MCP_OAUTH_TEST_VERBOSE === '1';
  const { ensureVSCodeSetup } = await import('./vscode-setup.mjs');
  const setup = ensureVSCodeSetup();
  const { chromium } = await import('playwright-core');

  const tmp = mkdtempSync(join(tmpdir(), 'mcp-oauth-ui-'));
  const dirs = {
    userData: join(tmp, 'user-data'),
    extensions: join(tmp, 'extensions'),
    workspace: join(tmp, 'workspace'),
    xdgConfig: join(tmp, 'xdg-config'),
    xdgData: join(tmp, 'xdg-data'),
    xdgState: join(tmp, 'xdg-state'),
    tmp: join(tmp, 'tmp'),
    shots: join(tmp, 'screenshots'),
    home: join(tmp, 'mcp-oauth-home'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const userLogPath = join(tmp, 'user.log');
  const userLines = [];
  const userLog = (line) => {
    userLines.push(`[+${elapsed()}s] ${line}`);
    if (verbose) console.log(line);
  };
  const probeOut = join(tmp, 'lm-probe.json');

  const results = [];
  let peers, server, browser, page;
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
      if (server) await server.stop();
      peers?.stop();
    })());
  process.on('exit', () => {
    server?.killGroup('SIGKILL');
    peers?.stop();
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ]) {
    process.once(signal, () => {
      console.log(`\n[ui] ${signal}: stopping code-server, the peers and the browser; logs in ${tmp}`);
      cleanup().finally(() => process.exit(code));
    });
  }

  let shotNumber = 0;
  /** Saves a screenshot of the workbench (or `target`) as screenshots/NN-name.png. */
  const shot = async (name, target = page) => {
    const file = join(dirs.shots, `${String(++shotNumber).padStart(2, '0')}-${name}.png`);
    await target.screenshot({ path: file }).catch((e) => {
      if (target === page) log(`screenshot ${name} failed: ${e.message.split('\n')[0]}`); // a browser tab may close first
    });
    return file;
  };
  /**
   * Runs one step: prints `ok`/`FAIL` with its time; a failure also saves a screenshot. A step whose `needs`
   * (keys of earlier steps) did not pass is not run, and fails.
   */
  const passedKeys = new Set();
  const step = async (key, title, needs, fn) => {
    const missing = needs.filter((k) => !passedKeys.has(k));
    if (missing.length) {
      results.push({ title, ok: false });
      console.log(`  FAIL ${title} (not run: needs ${missing.join(', ')})`);
      return;
    }
    const started = Date.now();
    try {
      await fn();
      passedKeys.add(key);
      results.push({ title, ok: true });
      console.log(`  ok   ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      results.push({ title, ok: false, error: err });
      console.log(
        `  FAIL ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)\n       ${(err instanceof Error ? err.message : String(err)).split('\n').join('\n       ')}`,
      );
      if (page) await shot(`failure-${key}`);
    }
  };

  // ---- The workbench helpers: what a user does with keyboard and mouse. ----
  const quickInput = () => page.locator('.quick-input-widget');
  // A closed quick pick leaves its rows in the DOM, hidden: only the visible ones count.
  const quickRows = () =>
    page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ visible: true });
  const rowTexts = () => quickRows().allInnerTexts();
  const dialog = () => page.locator('.monaco-dialog-box');
  const toasts = () => page.locator('.notifications-toasts .notification-toast');
  const treeRows = () => page.locator('.part.sidebar .monaco-list-row');
  const treeRow = (label) =>
    page
      .locator('.part.sidebar .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${esc(label)}$`) }) })
      .first();
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  /** Opens the command palette, types `label` and runs the command of exactly that label; retried. */
  const runCommand = async (label) => {
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      await quickInput().locator('input').waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.type(label, { delay: 5 });
      const row = quickRows()
        .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${esc(label)}$`) }) })
        .first();
      try {
        await row.waitFor({ state: 'visible', timeout: 5_000 });
        await row.click();
        return;
      } catch (err) {
        if (attempt >= 4)
          throw new Error(
            `the command palette has no "${label}" (rows: ${JSON.stringify(await rowTexts().catch(() => []))})`,
            { cause: err },
          );
        await sleep(1500); // the workbench may still be registering the extension's commands
      }
    }
  };
  /** Picks the quick pick row whose label is exactly `label` (or matches the RegExp). */
  const pick = async (label, timeout = 15_000) => {
    const pattern = label instanceof RegExp ? label : new RegExp(`^${esc(label)}$`);
    const row = quickRows()
      .filter({ has: page.locator('.label-name', { hasText: pattern }) })
      .first();
    await row.waitFor({ state: 'visible', timeout }).catch(async (err) => {
      throw new Error(`no quick pick row ${pattern} (rows: ${JSON.stringify(await rowTexts().catch(() => []))})`, {
        cause: err,
      });
    });
    await row.click();
  };
  const clickDialogButton = async (name) => {
    const button = dialog()
      .locator('.monaco-button', { hasText: new RegExp(`^${esc(name)}$`) })
      .first();
    await button.waitFor({ state: 'visible', timeout: 15_000 });
    await button.click();
    await dialog()
      .waitFor({ state: 'hidden', timeout: 10_000 })
      .catch(() => {});
  };
  const openSidebar = async () => {
    const icon = page.locator('.activitybar a.action-label[aria-label="MCP OAuth"]');
    if (
      !(await page
        .locator('.part.sidebar .title-label', { hasText: /MCP OAuth/i })
        .isVisible()
        .catch(() => false))
    )
      await icon.click();
    await page
      .locator('.part.sidebar .title-label', { hasText: /MCP OAuth/i })
      .waitFor({ state: 'visible', timeout: 10_000 });
  };
  /** Expands a tree row (by its label) when it is collapsed. */
  const expand = async (label) => {
    const row = treeRow(label);
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
    await waitFor(
      `the "${label}" row to expand`,
      async () => (await row.getAttribute('aria-expanded')) === 'true',
      10_000,
    );
  };
  /** The tree's rows as a user reads them: "label description". */
  const treeText = () =>
    treeRows().evaluateAll((rows) =>
      rows.map((row) => {
        const name = row.querySelector('.label-name')?.textContent ?? '';
        const description = row.querySelector('.label-description')?.textContent ?? '';
        return `${name} ${description}`.replace(/\s+/g, ' ').trim();
      }),
    );
  /** An editor's text (Monaco renders spaces as no-break spaces). */
  const editorText = async (editor) =>
    (await editor.locator('.view-lines').allInnerTexts()).join('\n').replace(/\u00a0/g, ' ');
  const peersState = async () => (await fetch(`${peers.env.MCP_OAUTH_TEST_PEERS_ADMIN}/state`)).json();

  let outcome = 'finished';
  const runAll = async () => {
    // ---- Set-up: the packaged VSIX, the helper, the peers, code-server with both installed, Chromium. ----
    let vsix = opts.vsix;
    await step(
      'install',
      `${opts.vsix ? 'the given VSIX' : 'the VSIX is packaged (npm run package) and'} installs into a fresh extensions folder`,
      [],
      async () => {
        if (!vsix) {
          const started = Date.now();
          vsix = packageExtension();
          log(`packaged ${vsix} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
        const installed = join(tmp, 'mcp-oauth.vsix');
        copyFileSync(vsix, installed);
        const probe = packProbe(setup.node24, join(tmp, 'lm-probe.vsix'));
        const env = codeServerEnv(dirs);
        const out = execFileSync(
          setup.node24,
          [
            setup.codeServerEntry,
            '--user-data-dir',
            dirs.userData,
            '--extensions-dir',
            dirs.extensions,
            '--install-extension',
            installed,
            '--install-extension',
            probe,
          ],
          { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const ok = out.match(/was successfully installed/g)?.length ?? 0;
        if (ok !== 2) throw new Error(`code-server --install-extension did not report two installs:\n${out}`);
        const folders = readdirSync(dirs.extensions);
        const ours = folders.find((f) => /^mcp-oauth\.mcp-oauth-\d/.test(f));
        if (!ours)
          throw new Error(`no mcp-oauth.mcp-oauth-<version> folder in the extensions folder: ${folders.join(', ')}`);
        const manifest = JSON.parse(readFileSync(join(dirs.extensions, ours, 'package.json'), 'utf8'));
        for (const f of ['dist/extension.js', 'dist/core.js'])
          if (!existsSync(join(dirs.extensions, ours, f))) throw new Error(`the installed extension has no ${f}`);
        if (existsSync(join(dirs.extensions, ours, 'src'))) throw new Error('the installed extension ships src/');
        log(`installed ${ours} (${manifest.displayName} ${manifest.version}) and the lm-probe helper`);
      },
    );
    if (!passedKeys.has('install')) return;

    peers = await startPeers(setup.node24, log);
    const settings = {
      ...QUIET_SETTINGS,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'workbench.layoutControl.enabled': false,
      // The second server, already configured: the device code step signs in to it.
      'mcpOAuth.servers': [{ name: PRESET, url: peers.env.MCP_OAUTH_TEST_MCP2 }],
    };
    mkdirSync(join(dirs.userData, 'User'), { recursive: true });
    writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
    const port = await freePort();
    server = await startCodeServer({
      node24: setup.node24,
      entry: setup.codeServerEntry,
      cwd: dirs.workspace,
      logPath: join(tmp, 'code-server.log'),
      args: [...codeServerFlags({ port, ...dirs }), dirs.workspace],
      env: codeServerEnv(dirs, { MCP_OAUTH_HOME: dirs.home, MCP_OAUTH_UI_PROBE_OUT: probeOut }),
    });
    log(`code-server ${server.child.pid} listening on 127.0.0.1:${port}`);
    browser = await chromium.launch({
      executablePath: setup.chromium,
      headless: true,
      args: BROWSER_ARGS,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    page = await context.newPage();
    page.on('pageerror', (e) => userLog(`[page exception] ${e.message}`));
    // The user approves the AS's pages in the tabs the extension opens; each page is photographed as it loads.
    actAsUser(context, page, peers.env.MCP_OAUTH_TEST_AS, userLog, { clickCopyAndOpen: false });
    context.on('page', (tab) => {
      tab.on('load', () => {
        const path = (() => {
          try {
            return new URL(tab.url()).pathname;
          } catch {
            return '';
          }
        })();
        if (/^\/(interaction|device)/.test(path)) void shot(`browser-${path.split('/')[1]}`, tab);
      });
    });

    await step('workbench', 'the workbench loads, with the MCP OAuth icon in the activity bar', [], async () => {
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}`);
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
        await runCommand('View: Close Secondary Side Bar').catch(() => {});
      await openSidebar();
      await waitFor(
        `the ${PRESET} server in the tree`,
        async () => (await treeText()).some((t) => t.startsWith(PRESET)),
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
    });

    // ---- 1. Add Server… and Sign In… ----
    await step(
      'add',
      'Add Server…: the URL typed in, the discovery preview shows the issuer, saved to User Settings',
      ['workbench'],
      async () => {
        await runCommand('MCP OAuth: Add Server…');
        await waitFor('the URL input', async () =>
          /Add MCP Server \(1\/2\)/.test(await quickInput().locator('.quick-input-title').innerText()),
        );
        const input = quickInput().locator('input');
        await input.fill('');
        await input.pressSequentially(peers.env.MCP_OAUTH_TEST_MCP, { delay: 5 });
        await page.keyboard.press('Enter');
        await waitFor('the name input', async () =>
          /Add MCP Server \(2\/2\)/.test(await quickInput().locator('.quick-input-title').innerText()),
        );
        await input.fill(ADDED);
        await page.keyboard.press('Enter');
        const preview = await waitFor(
          'the discovery preview',
          async () => {
            const text = await dialog().innerText();
            return text.includes(`Add ${ADDED}?`) && text.includes('Authorization server:') ? text : undefined;
          },
          30_000,
        );
        const issuer = peers.env.MCP_OAUTH_TEST_AS;
        for (const expected of [
          `Server: ${peers.env.MCP_OAUTH_TEST_MCP}`,
          `Authorization server: ${issuer}`,
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
        await clickDialogButton('Save');
        await waitFor('the "save to" pick', async () =>
          /save to/.test(await quickInput().locator('.quick-input-title').innerText()),
        );
        await shot('add-server-target');
        await pick('User Settings');
        await waitFor(
          `${ADDED} in the user settings.json`,
          () => {
            const saved =
              JSON.parse(readFileSync(join(dirs.userData, 'User', 'settings.json'), 'utf8'))['mcpOAuth.servers'] ?? [];
            return saved.some((s) => s.name === ADDED && s.url === peers.env.MCP_OAUTH_TEST_MCP);
          },
          10_000,
        );
        await waitFor(
          `${ADDED} in the tree`,
          async () => (await treeText()).some((t) => t.startsWith(`${ADDED} signed out`)),
          15_000,
        );
      },
    );

    await step(
      'signIn',
      'Sign In…: login and consent in a new tab, back through the callback; the tree shows the account, expiry and tools',
      ['add'],
      async () => {
        const tabs = page.context().pages().length;
        await runCommand('MCP OAuth: Sign In…');
        await pick(ADDED);
        await waitFor('the authorization page in a new tab', () => page.context().pages().length > tabs, 20_000);
        await waitFor(
          'the scripted user to sign in and consent at the AS',
          () => userLines.some((l) => l.includes('[user] consenting')),
          30_000,
        );
        await waitFor(
          'the browser to return to VS Code (the callback)',
          () => userLines.some((l) => /left the AS for .*\/callback/.test(l)),
          30_000,
        );
        await page.bringToFront();
        await openSidebar();
        const row = await waitFor(
          `${ADDED} to show the account and the time left`,
          async () => (await treeText()).find((t) => t.startsWith(ADDED) && /alice@example\.test · \d+ min/.test(t)),
          30_000,
        );
        await expand(ADDED);
        await expand('Tools (2)');
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
            const rows = await treeText();
            const missing = Object.entries(expected)
              .filter(([, re]) => !rows.some((t) => re.test(t)))
              .map(([what]) => what);
            if (missing.length) throw new Error(`no ${missing.join(', ')} in ${JSON.stringify(rows)}`);
            return true;
          },
          10_000,
        );
        await page.mouse.move(900, 500);
        await shot('tree-signed-in');
        log(`tree: ${row}`);
      },
    );

    // ---- 2. Device code ----
    await step(
      'device',
      'Sign In with Device Code…: the code is shown, Copy & Open, approved in the opened tab; the tree updates',
      ['workbench'],
      async () => {
        await runCommand('Notifications: Clear All Notifications');
        await runCommand('MCP OAuth: Sign In with Device Code…');
        await pick(PRESET);
        const toast = toasts()
          .filter({ hasText: `Sign in to ${PRESET}: enter the code` })
          .first();
        // Toasts show in a normal workbench; the notification center is the fallback.
        const visible = await toast.waitFor({ state: 'visible', timeout: 15_000 }).then(
          () => true,
          () => false,
        );
        const holder = visible
          ? toast
          : page
              .locator('.notifications-center .notification-list-item', {
                hasText: `Sign in to ${PRESET}: enter the code`,
              })
              .first();
        if (!visible) {
          await runCommand('Notifications: Show Notifications');
          await holder.waitFor({ state: 'visible', timeout: 15_000 });
        }
        const text = await holder.innerText();
        const code = /enter the code (\S+) at (\S+)/.exec(text);
        if (!code) throw new Error(`the notification shows no code: ${text}`);
        await sleep(300);
        await shot('device-code');
        const tabs = page.context().pages().length;
        const seen = userLines.length;
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
          () => userLines.slice(seen).some((l) => /\[user\] (confirming|consenting)/.test(l)),
          30_000,
        );
        await page.bringToFront();
        await waitFor(
          `${PRESET} to show the account (the AS is polled every 5 s)`,
          async () => (await treeText()).some((t) => t.startsWith(PRESET) && /alice@example\.test · \d+ min/.test(t)),
          45_000,
        );
        await expand(PRESET);
        await page.mouse.move(900, 500);
        await shot('tree-device-code');
      },
    );

    // ---- 3. Copilot agent tool access ----
    await step(
      'mcp',
      'MCP: List Servers lists the server from the MCP OAuth provider; Start Server reaches Running; its output says "Discovered 2 tools"',
      ['signIn'],
      async () => {
        await runCommand('MCP: List Servers');
        await pick(ADDED);
        const listed = await rowTexts();
        await pick('Start Server');
        await waitFor(
          `${ADDED} to be Running`,
          async () => {
            await runCommand('MCP: List Servers');
            const rows = (
              await waitFor(
                'the server list',
                async () => {
                  const r = await rowTexts();
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
        await pick(ADDED);
        await pick('Show Output');
        const output = await waitFor(
          '"Discovered N tools" in the server\'s output',
          async () => {
            const text = await editorText(page.locator('.part.panel .output-view .monaco-editor'));
            return /Discovered \d+ tools/.test(text) ? text : undefined;
          },
          30_000,
        );
        const discovered = Number(/Discovered (\d+) tools/.exec(output)[1]);
        if (discovered !== 2) throw new Error(`the output says Discovered ${discovered} tools, expected 2:\n${output}`);
        if (!/Connection state: Running/.test(output)) throw new Error(`the output does not say Running:\n${output}`);
        await shot('mcp-output');
        log(`server actions: ${JSON.stringify(listed)}; output: ${output.split('\n').filter(Boolean).at(-1)}`);
      },
    );

    await step(
      'lm',
      "vscode.lm.tools lists the server's tools, and vscode.lm.invokeTool gets the server's answer through the gateway",
      ['mcp'],
      async () => {
        await runCommand('Notifications: Clear All Notifications');
        const before = (await peersState()).mcp[peers.env.MCP_OAUTH_TEST_MCP].filter((m) => m === 'tools/call').length;
        rmSync(probeOut, { force: true });
        await runCommand('MCP OAuth UI Test: Probe Language Model Tools');
        // VS Code asks before it runs an MCP tool: the user allows it.
        await waitFor('the tool confirmation', async () => /whoami/.test(await dialog().innerText()), 20_000);
        await shot('lm-tool-confirmation');
        const allow = dialog()
          .locator('.monaco-button', { hasText: /^(Yes|Allow|Continue|Run)$/ })
          .first();
        await allow.click();
        const probe = await waitFor(
          "the probe's result file",
          () => existsSync(probeOut) && JSON.parse(readFileSync(probeOut, 'utf8')),
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
            const calls = (await peersState()).mcp[peers.env.MCP_OAUTH_TEST_MCP].filter(
              (m) => m === 'tools/call',
            ).length;
            return calls > before ? calls : undefined;
          },
          10_000,
        );
        // VS Code reached the server through the extension's token gateway, never directly.
        const channel = findFile(join(dirs.userData, 'logs'), 'MCP OAuth.log');
        const channelText = channel ? readFileSync(channel, 'utf8') : '';
        if (!/\[mcp\] \[acme-tickets\] resolved to the token gateway/.test(channelText))
          throw new Error(
            `the MCP OAuth log does not say the server was resolved to the token gateway (${channel ?? 'no log'})`,
          );
        await toasts()
          .filter({ hasText: 'answered' })
          .first()
          .waitFor({ state: 'visible', timeout: 10_000 })
          .catch(() => {});
        await shot('lm-invoke-result');
        log(
          `vscode.lm.tools: ${names.join(', ')} (of ${probe.tools.length}); ${probe.invoked} → ${probe.text}; tools/call at the server: ${after - before}`,
        );
      },
    );

    // ---- 4. The Accounts menu ----
    let menuEntry;
    await step('accounts', 'the Accounts menu lists the MCP OAuth account', ['signIn'], async () => {
      await page.keyboard.press('Escape');
      await page.locator('.activitybar a.action-label[aria-label^="Accounts"]').click();
      const entries = page.locator('.monaco-menu .action-label', { hasText: /alice@example\.test.*\(MCP OAuth\)$/ });
      await entries.first().waitFor({ state: 'visible', timeout: 15_000 });
      const labels = await entries.allInnerTexts();
      // One entry per server and account (the label names the server), or one per account.
      menuEntry = labels.find((l) => l.includes(ADDED)) ?? labels[0];
      await entries.filter({ hasText: menuEntry }).first().hover();
      await page
        .locator('.monaco-menu .action-label', { hasText: /^Sign Out$/ })
        .first()
        .waitFor({ state: 'visible', timeout: 10_000 });
      await sleep(500);
      await shot('accounts-menu');
      log(`Accounts menu: ${JSON.stringify(labels)}`);
    });

    await step(
      'signOut',
      'Sign Out in the Accounts menu revokes the refresh token at the AS; the tree shows the server signed out',
      ['accounts'],
      async () => {
        const resource = peers.env.MCP_OAUTH_TEST_MCP;
        const before = await peersState();
        const live = before.as.refreshTokens.filter((t) => t.resource === resource && t.active).map((t) => t.n);
        if (!live.length)
          throw new Error(
            `no active refresh token for ${ADDED} before signing out: ${JSON.stringify(before.as.refreshTokens)}`,
          );
        const revocations = (state) =>
          state.as.requests.filter((r) => r.method === 'POST' && r.path === '/token/revocation').length;
        await page
          .locator('.monaco-menu .action-label', { hasText: /^Sign Out$/ })
          .first()
          .click();
        await waitFor('the sign-out confirmation', async () => /Sign out of/.test(await dialog().innerText()), 10_000);
        await clickDialogButton('Sign Out');
        const after = await waitFor(
          `a revocation request at the AS after "Sign Out" of ${menuEntry}`,
          async () => {
            const state = await peersState();
            return revocations(state) > revocations(before) ? state : undefined;
          },
          20_000,
        ).catch(async (err) => {
          const signedIn = (await treeText()).filter((t) => /alice@example\.test ·/.test(t));
          throw new Error(
            `${err.message}. Nothing was signed out; still signed in: ${JSON.stringify(signedIn)}. VS Code's Sign Out removes the ` +
              `provider's sessions whose account label equals the menu entry's ("${menuEntry.replace(/ \(MCP OAuth\)$/, '')}"), and the menu takes ` +
              'its labels from the sessions in onDidChangeSessions events: those must carry the same account as getSessions().',
            { cause: err },
          );
        });
        const still = await waitFor(
          'AS introspection to call the refresh token inactive',
          async () => {
            const state = await peersState();
            return state.as.refreshTokens.some((t) => live.includes(t.n) && t.active) ? undefined : state;
          },
          10_000,
        );
        await openSidebar();
        await waitFor(
          `${ADDED} to show signed out`,
          async () => (await treeText()).some((t) => t.startsWith(`${ADDED} signed out`)),
          15_000,
        );
        await shot('signed-out');
        log(
          `revocation requests: ${revocations(before)} → ${revocations(after)}; refresh token(s) ${live.join(', ')} now inactive (${JSON.stringify(still.as.refreshTokens.map((t) => `${t.n}:${t.active ? 'active' : 'inactive'}`))})`,
        );
      },
    );
  };

  try {
    let timer;
    const timedOut = new Promise((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`the run took longer than ${timeoutMs / 1000} s (MCP_OAUTH_TEST_TIMEOUT_MS)`)),
        timeoutMs,
      );
    });
    await Promise.race([runAll(), timedOut]).finally(() => clearTimeout(timer));
  } catch (err) {
    outcome = 'error';
    results.push({ title: 'the run', ok: false, error: err });
    console.log(`  FAIL the run: ${err instanceof Error ? err.message : String(err)}`);
    if (page) await shot('failure');
  } finally {
    await cleanup();
    writeFileSync(userLogPath, userLines.join('\n') + '\n');
  }

  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (opts.updateScreenshots && failed === 0) {
    const target = join(root, 'media', 'screenshots');
    mkdirSync(target, { recursive: true });
    const shots = readdirSync(dirs.shots);
    for (const [shotName, file] of Object.entries(README_SHOTS)) {
      const found = shots.find((f) => f.replace(/^\d+-/, '') === `${shotName}.png`);
      if (found) copyFileSync(join(dirs.shots, found), join(target, file));
      else console.log(`[ui] no screenshot ${shotName} in this run`);
    }
    log(`updated ${Object.keys(README_SHOTS).length} screenshots in media/screenshots/`);
  }
  if (failed) {
    const channel = findFile(join(dirs.userData, 'logs'), 'MCP OAuth.log');
    if (channel) console.log(`--- last 20 lines of ${channel} ---\n${tail(channel, 20)}\n---`);
    console.log(`--- last 20 lines of ${userLogPath} (the scripted user) ---\n${tail(userLogPath, 20)}\n---`);
    console.log(`[ui] kept ${tmp}: screenshots/, code-server.log, user.log, user-data/logs/ (output channels)`);
  } else if (opts.keep) {
    console.log(`[ui] kept ${tmp} (screenshots in ${dirs.shots})`);
  } else {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`done in ${elapsed()} s (${outcome})`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[ui] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
}
