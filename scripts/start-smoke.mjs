// The `npm start` smoke test: runs `node scripts/start.mjs` as a user would (VS Code in the browser through
// code-server, on free ports, in a temporary state folder) and checks what it promises:
//   - it prints the URL to open, which serves the VS Code workbench;
//   - the demo authorization server answers with its metadata, and every demo MCP server with a 401 challenge;
//   - user settings.json holds the demo servers, and keeps a setting that was already there;
//   - the extension is linked into code-server's extensions folder;
//   - a second `npm start` on the same ports refuses, naming the variable to change;
//   - in headless Chromium (when there is one): the MCP OAuth view lists the demo servers, and Sign In on the
//     split-domain server goes through the authorization server's pages and ends signed in;
//   - Ctrl-C (SIGINT) stops everything within 10 s, exit code 0, every port free, code-server's group gone.
// Prints one line per check and closes with `N passed, N failed`. scripts/test.mjs runs it after the
// integration tests, under the same condition (code-server set up, not MCP_OAUTH_SKIP_INTEGRATION=1).
//
//   MCP_OAUTH_DEMO_STATE=DIR  use (and keep) this state folder instead of a temporary one
//   MCP_OAUTH_SMOKE_BROWSER=0 skip the Chromium checks
/* global AbortSignal, Headers */
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser, probePort, sleep } from './codeServer/index.mjs';
import { paths } from './vscode-setup.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const t0 = Date.now();
const log = (msg) => console.log(`[start-smoke +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? `\n       ${detail}` : ''}`);
  return ok;
}

/** Whether host:port can be bound now. */
const bindable = async (port, host) => !(await probePort(port, host));

/** A base port with base..base+3 free on 127.0.0.1 (and base on 127.0.0.2 where it exists), and a VS Code port. */
async function freePorts() {
  const alt = await bindable(0, '127.0.0.2');
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const vscode = base + 10;
    const ports = [base, base + 1, base + 2, base + 3, vscode];
    const free = await Promise.all([...ports.map((p) => bindable(p)), alt ? bindable(base, '127.0.0.2') : true]);
    if (free.every(Boolean)) return { base, vscode };
  }
  throw new Error('found no free ports');
}

/** Runs start.mjs; `output()` is everything it printed so far, `waitFor(re)` resolves with the first match. */
function runStart(env) {
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.mjs')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set();
  const onData = (d) => {
    out += d;
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, at: Date.now() })));
  // Whatever ends this script (even a crash), start.mjs is told to stop, and stops its peers and code-server.
  const stopOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  process.on('exit', stopOnExit);
  exited.then(() => process.off('exit', stopOnExit));
  return {
    child,
    exited,
    output: () => out,
    waitFor(re, ms) {
      return new Promise((res, rej) => {
        const test = () => {
          const m = re.exec(out);
          if (m) {
            listeners.delete(test);
            res(m);
          }
        };
        listeners.add(test);
        test();
        exited.then(({ code, signal }) => rej(new Error(`start.mjs exited (${code ?? signal}) before printing ${re}`)));
        setTimeout(() => rej(new Error(`start.mjs printed no ${re} within ${ms / 1000} s`)), ms).unref();
      });
    },
  };
}

async function fetchText(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The user at the browser: opens the workbench, the MCP OAuth view, and signs in to the split-domain server. */
async function browserChecks(url, issuer) {
  const chromiumPath = paths.chromium;
  if (process.env.MCP_OAUTH_SMOKE_BROWSER === '0') return log('browser checks skipped (MCP_OAUTH_SMOKE_BROWSER=0)');
  if (!existsSync(chromiumPath)) return log(`browser checks skipped (no ${chromiumPath})`);
  const { context, page, close } = await openBrowser({
    chromium: chromiumPath,
    viewport: { width: 1400, height: 900 },
  });
  const shots = mkdtempSync(join(tmpdir(), 'mcp-oauth-smoke-shot-'));
  let shot = false;
  const fail = async (name, err) => {
    shot = true;
    const file = join(shots, `${results.length}.png`);
    await page.screenshot({ path: file }).catch(() => {});
    check(name, false, `${err instanceof Error ? err.message.split('\n')[0] : String(err)} (screenshot: ${file})`);
  };
  try {
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    const tab = page.locator('.activitybar [aria-label^="MCP OAuth"]').first();
    await tab.waitFor({ timeout: 60_000 });
    await tab.click();
    const names = ['Demo: split-domain AS', 'Demo: device code', 'Demo: no resource metadata'];
    for (const name of names)
      await page.locator('.monaco-list-row', { hasText: name }).first().waitFor({ timeout: 30_000 });
    check('the workbench loads the extension, and the MCP OAuth view lists the three demo servers', true);
  } catch (err) {
    await fail('the workbench loads the extension, and the MCP OAuth view lists the three demo servers', err);
    await close();
    return;
  }
  try {
    const row = page.locator('.monaco-list-row', { hasText: 'Demo: split-domain AS' }).first();
    const menu = page.locator('.monaco-menu');
    const signIn = menu.locator('.action-label', { hasText: /^Sign In…$/ }).first();
    for (let i = 0; i < 8 && !(await signIn.isVisible().catch(() => false)); i++) {
      if (await menu.isVisible().catch(() => false)) await page.keyboard.press('Escape'); // a menu without the item: the row was re-rendered
      await page.mouse.move(700, 600); // away from hovers
      await sleep(300);
      if (i % 2) {
        await row.click({ button: 'right', timeout: 5_000 }).catch(() => {});
      } else {
        await row.click({ timeout: 5_000 }).catch(() => {}); // the keyboard's way to the same menu
        await page.keyboard.press('Shift+F10');
      }
      await sleep(700);
    }
    const asPage = context.waitForEvent('page', { timeout: 45_000 });
    asPage.catch(() => {}); // awaited below; never an unhandled rejection if the click fails first
    await signIn.click({ timeout: 15_000 });
    const at = await asPage;
    const asOrigin = new URL(issuer).origin;
    for (let step = 0; step < 8; step++) {
      await at.waitForLoadState('domcontentloaded').catch(() => {});
      if (new URL(at.url()).origin !== asOrigin) break; // back at code-server's callback
      const login = at.locator('input[name="login"]');
      const submit = at.locator('button[type="submit"]').first();
      if (await login.count()) {
        await login.fill('smoke');
        await at.locator('input[name="password"]').fill('any');
      } else if (!(await submit.count())) {
        throw new Error(
          `stuck at ${new URL(at.url()).pathname}: ${(await at.locator('body').innerText()).replace(/\s+/g, ' ').slice(0, 200)}`,
        );
      }
      await Promise.all([at.waitForNavigation().catch(() => {}), submit.click()]);
    }
    await page.bringToFront();
    await page.locator('.monaco-list-row', { hasText: 'smoke@example.test' }).first().waitFor({ timeout: 30_000 });
    check("Sign In from the view goes through the authorization server's pages and ends signed in", true);
  } catch (err) {
    await fail("Sign In from the view goes through the authorization server's pages and ends signed in", err);
  }
  await close();
  if (!shot) rmSync(shots, { recursive: true, force: true }); // kept when a check failed
}

async function main() {
  const keepState = !!process.env.MCP_OAUTH_DEMO_STATE;
  const state = resolve(process.env.MCP_OAUTH_DEMO_STATE || mkdtempSync(join(tmpdir(), 'mcp-oauth-smoke-')));
  const { base, vscode } = await freePorts();
  const env = {
    MCP_OAUTH_DEMO_VSCODE: 'code-server',
    MCP_OAUTH_DEMO_STATE: state,
    MCP_OAUTH_DEMO_PORT: String(base),
    MCP_OAUTH_DEMO_VSCODE_PORT: String(vscode),
  };
  // A user's own setting (with a comment) and a stale server list, as a previous run might have left.
  const settingsFile = join(state, 'code-server', 'user-data', 'User', 'settings.json');
  mkdirSync(dirname(settingsFile), { recursive: true });
  writeFileSync(
    settingsFile,
    '{\n  // mine\n  "editor.fontSize": 15,\n  "mcpOAuth.servers": [{ "name": "Old", "url": "http://127.0.0.1:1/mcp" }],\n}\n',
  );
  log(`node scripts/start.mjs with ports ${base}–${base + 3} and ${vscode}, state ${state}`);

  const run = runStart(env);
  let stopped;
  try {
    let url;
    try {
      url = (await run.waitFor(/^\s*Open\s+(http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+)/m, 15 * 60_000))[1];
    } catch (err) {
      check('npm start prints the URL to open', false, err.message);
      return;
    }
    check('npm start prints the URL to open', url.startsWith(`http://127.0.0.1:${vscode}/`), url);
    const out = run.output();
    check(
      'it prints the demo login',
      /Demo login at the authorization server: any user name and any password/.test(out),
    );
    const issuer = /Authorization server\s+(http:\/\/127\.0\.0\.\d+:\d+)/.exec(out)?.[1];

    const page = await fetchText(url).catch((err) => ({ status: 0, text: String(err) }));
    check(
      'the URL serves the VS Code workbench',
      page.status === 200 && /workbench/i.test(page.text),
      `HTTP ${page.status}`,
    );

    const metadata =
      issuer && (await fetchText(`${issuer}/.well-known/oauth-authorization-server`).catch(() => undefined));
    let meta = {};
    try {
      meta = JSON.parse(metadata?.text ?? '{}');
    } catch {
      /* checked below */
    }
    check(
      'the authorization server answers with its metadata',
      metadata?.status === 200 && meta.issuer === issuer && !!meta.device_authorization_endpoint,
      `issuer ${issuer}, HTTP ${metadata?.status}`,
    );

    for (const port of [base + 1, base + 2, base + 3]) {
      const mcpUrl = `http://127.0.0.1:${port}/mcp`;
      const res = await fetchText(mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
      }).catch((err) => ({ status: 0, headers: new Headers(), text: String(err) }));
      const challenge = res.headers.get('www-authenticate') ?? '';
      check(
        `${mcpUrl} is in the banner and answers 401 with a Bearer challenge`,
        out.includes(mcpUrl) && res.status === 401 && /^Bearer/i.test(challenge),
        `HTTP ${res.status} ${challenge}`,
      );
    }

    let settings = {};
    try {
      settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
    } catch {
      /* checked below */
    }
    const servers = settings['mcpOAuth.servers'] ?? [];
    const byId = Object.fromEntries(servers.map((s) => [s.id, s]));
    check(
      'settings.json holds the three demo servers (the device one set for the device flow)',
      servers.length === 3 &&
        byId['demo-split']?.url === `http://127.0.0.1:${base + 1}/mcp` &&
        byId['demo-device']?.url === `http://127.0.0.1:${base + 2}/mcp` &&
        byId['demo-device']?.auth?.flow === 'deviceCode' &&
        byId['demo-no-metadata']?.auth?.authorizationServer === issuer,
      JSON.stringify(servers),
    );
    check("settings.json keeps the user's own settings", settings['editor.fontSize'] === 15);
    check('the banner names that settings file', out.includes(settingsFile));

    const link = join(state, 'code-server', 'extensions', `${pkg.publisher}.${pkg.name}-${pkg.version}`);
    let linked = false;
    try {
      linked = lstatSync(link).isSymbolicLink() && realpathSync(link) === realpathSync(root);
    } catch {
      /* no */
    }
    check("the extension is linked into code-server's extensions folder", linked, link);

    // A second npm start on the same ports (another state folder) refuses and names the variable.
    const otherState = mkdtempSync(join(tmpdir(), 'mcp-oauth-smoke-2-'));
    const second = runStart({ ...env, MCP_OAUTH_DEMO_STATE: otherState });
    const secondExit = await Promise.race([second.exited, sleep(60_000).then(() => undefined)]);
    if (!secondExit) second.child.kill('SIGKILL');
    check(
      'a second npm start on the same ports exits 1 and names MCP_OAUTH_DEMO_PORT',
      secondExit?.code === 1 && /MCP_OAUTH_DEMO_PORT/.test(second.output()),
      second.output().trim().split('\n').at(-1),
    );
    rmSync(otherState, { recursive: true, force: true });

    if (issuer) await browserChecks(url, issuer);

    const pidFile = join(state, 'code-server', 'code-server.pid');
    const codeServerPid = Number(existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : 0);
    const sent = Date.now();
    run.child.kill('SIGINT');
    stopped = await Promise.race([run.exited, sleep(10_000).then(() => undefined)]);
    check(
      'Ctrl-C (SIGINT) stops it within 10 s with exit code 0',
      stopped?.code === 0,
      stopped
        ? `exit ${stopped.code ?? stopped.signal} after ${((stopped.at - sent) / 1000).toFixed(1)} s`
        : 'still running after 10 s',
    );
    if (stopped) log(`stopped ${((stopped.at - sent) / 1000).toFixed(1)} s after SIGINT`);
    let groupGone = false;
    try {
      process.kill(-codeServerPid, 0);
    } catch (err) {
      groupGone = codeServerPid > 0 && err.code === 'ESRCH';
    }
    check('code-server and its whole process group are gone when npm start exits', groupGone, `pid ${codeServerPid}`);
    const ports = [
      [base, issuer ? new URL(issuer).hostname : '127.0.0.1'],
      [base + 1],
      [base + 2],
      [base + 3],
      [vscode],
    ];
    const busy = [];
    for (const [port, host] of ports) if (!(await bindable(port, host))) busy.push(`${host ?? '127.0.0.1'}:${port}`);
    check('every port is free again', busy.length === 0, `still bound: ${busy.join(', ')}`);
  } finally {
    if (!stopped && run.child.exitCode === null) {
      run.child.kill('SIGINT');
      await Promise.race([run.exited, sleep(10_000)]);
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
    const failed = results.some((r) => !r.ok);
    if (failed) console.log(`\n--- npm start printed ---\n${run.output()}---`);
    if (!keepState && !failed) rmSync(state, { recursive: true, force: true });
    else if (failed) console.log(`[start-smoke] state kept in ${state}`);
  }
}

main()
  .catch((err) => {
    check('the smoke test ran', false, err instanceof Error ? (err.stack ?? err.message) : String(err));
  })
  .finally(() => {
    const passed = results.filter((r) => r.ok).length;
    const failed = results.length - passed;
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed || passed === 0 ? 1 : 0);
  });
