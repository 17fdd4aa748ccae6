// `npm run test:ui`: the extension as a user meets it. Packages the VSIX (`npm run package`), installs it into a
// fresh code-server 1.139.1 (the VS Code server build) exactly as a marketplace install would, and drives the
// real workbench with headless Chromium (playwright-core) against the real peers (test/integration/peers.ts:
// an oidc-provider AS and two protected MCP servers), all started by the one launcher (scripts/codeServer).
// Every step (./steps, one file each, on the page helpers of ./workbench.ts) asserts what a user sees and saves
// screenshots; one line per step, `ok` or `FAIL`, then a closing `N passed, N failed`.
//
//   node --import tsx test/ui/run.ts [--vsix=FILE] [--keep] [--update-screenshots]
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
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { findFile, launch, tail, type Launched } from '../../scripts/codeServer/index.mjs';
import { ensureVSCodeSetup } from '../../scripts/vscode-setup.mjs';
import type { PeersEnv, PeersState } from '../integration/peers';
import { steps } from './steps';
import { PRESET, type Ui, type UiOptions } from './ui';
import { Workbench } from './workbench';

const repo = resolve(__dirname, '..', '..');
const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1);
const log = (message: string) => console.log(`[ui +${elapsed()}s] ${message}`);

/** The screenshots the README shows: this run's screenshots/NN-<name>.png → media/screenshots/<file>. */
const README_SHOTS: Record<string, string> = {
  'add-server-preview': 'add-server.png',
  'tree-signed-in': 'sidebar.png',
  'device-code': 'device-code.png',
  'lm-tool-confirmation': 'agent-tool-call.png',
  'accounts-menu': 'accounts-menu.png',
};

function parseArgs(argv: readonly string[]): UiOptions {
  let vsix: string | undefined;
  let keep = process.env.MCP_OAUTH_TEST_KEEP === '1';
  let updateScreenshots = false;
  for (const a of argv) {
    if (a === '--keep') keep = true;
    else if (a === '--update-screenshots') updateScreenshots = true;
    else if (a.startsWith('--vsix=')) vsix = resolve(a.slice('--vsix='.length));
    else throw new Error(`unknown argument ${a}`);
  }
  return { vsix, keep, updateScreenshots };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const timeoutMs = Number(process.env.MCP_OAUTH_TEST_TIMEOUT_MS) || 300_000;
  const setup = ensureVSCodeSetup();

  let cs: Launched | undefined;
  let wb: Workbench | undefined;
  const running = (): Launched => {
    if (!cs) throw new Error('code-server is not running (the first step starts it)');
    return cs;
  };
  const shotsDir = () => join(running().dirs.root, 'screenshots');
  let shotNumber = 0;
  const shot = async (name: string, target?: Page): Promise<string> => {
    const page = target ?? cs?.page;
    if (!page) return '';
    mkdirSync(shotsDir(), { recursive: true });
    const file = join(shotsDir(), `${String(++shotNumber).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file }).catch((e: unknown) => {
      if (!target) log(`screenshot ${name} failed: ${message(e).split('\n')[0]}`); // a browser tab may close first
    });
    return file;
  };
  const ui: Ui = {
    options,
    repo,
    node24: setup.node24,
    log,
    shot,
    state: {},
    async start(vsix) {
      cs = await launch({
        name: 'ui',
        log,
        setup,
        peers: true,
        vsix: [...vsix],
        settings: (peers) => ({
          'workbench.secondarySideBar.defaultVisibility': 'hidden',
          'workbench.layoutControl.enabled': false,
          // The second server, already configured: the device code step signs in to it.
          'mcpOAuth.servers': [{ name: PRESET, url: peers?.env.MCP_OAUTH_TEST_MCP2 }],
        }),
        env: (dirs) => ({ MCP_OAUTH_UI_PROBE_OUT: join(dirs.root, 'lm-probe.json') }),
        viewport: { width: 1280, height: 800 },
        open: false, // the workbench step opens it
        user: { clickCopyAndOpen: false }, // the device code step clicks it, after looking at the notification
      });
      wb = new Workbench(cs.page);
      // The AS's pages, in the tabs the extension opens, are photographed as they load.
      cs.context.on('page', (tab) => {
        tab.on('load', () => {
          let path = '';
          try {
            path = new URL(tab.url()).pathname;
          } catch {
            /* no URL yet */
          }
          if (/^\/(interaction|device)/.test(path)) void shot(`browser-${path.split('/')[1]}`, tab);
        });
      });
    },
    get cs() {
      return running();
    },
    get page() {
      return running().page;
    },
    get wb() {
      running();
      return wb!;
    },
    get peers() {
      return running().peers!.env as unknown as PeersEnv;
    },
    async peersState() {
      return (await (await fetch(`${ui.peers.MCP_OAUTH_TEST_PEERS_ADMIN}/state`)).json()) as PeersState;
    },
    get probeOut() {
      return join(running().dirs.root, 'lm-probe.json');
    },
  };

  const results: { title: string; ok: boolean }[] = [];
  const passed = new Set<string>();
  /** A signal is stopping the run (the launcher reports it and exits): nothing more is reported. */
  const halt = () => new Promise<never>(() => {});
  const runAll = async () => {
    for (const step of steps) {
      const title = typeof step.title === 'function' ? step.title(ui) : step.title;
      const missing = step.needs.filter((k) => !passed.has(k));
      if (missing.length) {
        results.push({ title, ok: false });
        console.log(`  FAIL ${title} (not run: needs ${missing.join(', ')})`);
        continue;
      }
      const started = Date.now();
      const took = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
      try {
        await step.run(ui);
        passed.add(step.key);
        results.push({ title, ok: true });
        console.log(`  ok   ${title} (${took()})`);
      } catch (err) {
        if (cs?.interrupted) return halt();
        results.push({ title, ok: false });
        console.log(`  FAIL ${title} (${took()})\n       ${message(err).split('\n').join('\n       ')}`);
        await shot(`failure-${step.key}`);
      }
    }
  };

  let outcome = 'finished';
  try {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`the run took longer than ${timeoutMs / 1000} s (MCP_OAUTH_TEST_TIMEOUT_MS)`)),
        timeoutMs,
      );
    });
    await Promise.race([runAll(), timedOut]).finally(() => clearTimeout(timer));
  } catch (err) {
    if (cs?.interrupted) return halt();
    outcome = 'error';
    results.push({ title: 'the run', ok: false });
    console.log(`  FAIL the run: ${message(err)}`);
    await shot('failure');
  } finally {
    await cs?.stop();
  }

  const passes = results.filter((r) => r.ok).length;
  const failures = results.length - passes;
  if (options.updateScreenshots && failures === 0 && cs) {
    const target = join(repo, 'media', 'screenshots');
    mkdirSync(target, { recursive: true });
    const shots = existsSync(shotsDir()) ? readdirSync(shotsDir()) : [];
    for (const [shotName, file] of Object.entries(README_SHOTS)) {
      const found = shots.find((f) => f.replace(/^\d+-/, '') === `${shotName}.png`);
      if (found) copyFileSync(join(shotsDir(), found), join(target, file));
      else console.log(`[ui] no screenshot ${shotName} in this run`);
    }
    log(`updated ${Object.keys(README_SHOTS).length} screenshots in media/screenshots/`);
  }
  if (failures && cs) {
    const channel = findFile(join(cs.dirs.userData, 'logs'), 'MCP OAuth.log');
    if (channel) console.log(`--- last 20 lines of ${channel} ---\n${tail(channel, 20)}\n---`);
    console.log(`--- last 20 lines of ${cs.logs.user} (the scripted user) ---\n${tail(cs.logs.user, 20)}\n---`);
    console.log(
      `[ui] kept ${cs.dirs.root}: screenshots/, code-server.log, user.log, exthost.log (page errors), user-data/logs/ (output channels)`,
    );
  } else if (cs && options.keep) {
    console.log(`[ui] kept ${cs.dirs.root} (screenshots in ${shotsDir()})`);
  } else {
    cs?.remove();
  }
  log(`done in ${elapsed()} s (${outcome})`);
  console.log(`${passes} passed, ${failures} failed`);
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[ui] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
