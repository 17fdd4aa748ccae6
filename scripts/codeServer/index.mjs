// The one code-server launcher. Everything that runs a real VS Code for this repository goes through here:
// scripts/test-integration.mjs (the extension tests in the extension host; test-electron.mjs's --code-server
// shim runs it too), the real-UI run (test/ui/run.ts, the packaged VSIX driven like a user), and start.mjs
// (`npm start`'s code-server mode; start-smoke.mjs drives it with openBrowser).
//
//   const cs = await launch({ name: 'ui', peers: true, vsix: [file], settings: (peers) => ({ … }) });
//   … cs.page, cs.peers.env, cs.userLines, cs.dirs …
//   await cs.stop();
//
// launch() sets up a folder (a fresh temp folder, or `dir`), user settings, the test peers
// (test/integration/peers.ts) when asked, code-server 1.139.1 under Node 24 in a process group of its own, and
// headless Chromium through playwright-core on the workbench URL (with its `payload` and the smoke-test
// driver's codeAutomationLog / codeAutomationExit when there is a `testsPath`) and the scripted user (./user.mjs).
// It stops all of it on a failure while starting, on `stop()`, on SIGINT/SIGTERM/SIGHUP (then it exits), and
// kills what is left whenever the process exits.
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureVSCodeSetup, paths } from '../vscode-setup.mjs';
import { lastLines } from './logs.mjs';
import { freePort, sleep, spawnGroup, untilOutput } from './processes.mjs';
import { actAsUser } from './user.mjs';

export { findFile, scanForSecrets, tail } from './logs.mjs';
export { probePort, sleep } from './processes.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Quiet, offline-friendly user settings: no gallery or update checks, no welcome page, no telemetry. */
export const QUIET_SETTINGS = {
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  'workbench.enableExperiments': false,
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
};

/**
 * With `trusted: false`: workspace trust on, and no prompt, so the folder opens untrusted (Restricted Mode)
 * and stays so.
 */
const RESTRICTED_MODE_SETTINGS = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'never',
  'security.workspace.trust.emptyWindow': false,
};

/** Headless Chromium's flags for driving the workbench offline. */
const BROWSER_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * @typedef {object} Browser
 * @property {import('playwright-core').Browser} browser
 * @property {import('playwright-core').BrowserContext} context
 * @property {import('playwright-core').Page} page
 * @property {() => Promise<void>} close closes the browser, giving up after 5 s
 */

/**
 * Headless Chromium with one page. `handleSignals: false` leaves SIGINT/SIGTERM/SIGHUP to the caller, who
 * closes the browser itself.
 * @param {{ chromium?: string, viewport?: { width: number, height: number }, clipboard?: boolean, handleSignals?: boolean }} [options]
 * @returns {Promise<Browser>}
 */
export async function openBrowser({
  chromium = paths.chromium,
  viewport = { width: 1400, height: 900 },
  clipboard = false,
  handleSignals = true,
} = {}) {
  const { chromium: playwright } = await import('playwright-core');
  const browser = await playwright.launch({
    executablePath: chromium,
    headless: true,
    args: BROWSER_ARGS,
    handleSIGINT: handleSignals,
    handleSIGTERM: handleSignals,
    handleSIGHUP: handleSignals,
  });
  const context = await browser.newContext({ viewport });
  if (clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  const close = async () => {
    await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  };
  return { browser, context, page, close };
}

/**
 * The environment for code-server: this one without an enclosing VS Code's VSCODE_* variables, gallery
 * look-ups that fail fast on loopback, and the XDG folders (and the temp folder, where it is short enough) in
 * the run's folder.
 */
function codeServerEnv(dirs, extra) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
  return {
    ...env,
    EXTENSIONS_GALLERY: JSON.stringify({
      serviceUrl: 'http://127.0.0.1:9/gallery',
      itemUrl: 'http://127.0.0.1:9/item',
    }),
    // Otherwise code-server writes ~/.config/code-server/config.yaml.
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_STATE_HOME: dirs.xdgState,
    // code-server's helpers leave their IPC sockets in the temp folder; keep them (and the tests' temp files)
    // in ours, unless that makes socket paths too long (108 bytes on Linux).
    ...(dirs.tmp && dirs.tmp.length <= 60 ? { TMPDIR: dirs.tmp } : {}),
    ...extra,
  };
}

/**
 * @typedef {object} PeersDescription what a peers script prints in its one JSON line
 * @property {Record<string, unknown>} settings the user settings that point at them
 * @property {Record<string, string>} env for the tests: MCP_OAUTH_TEST_AS, MCP_OAUTH_TEST_MCP, MCP_OAUTH_TEST_MCP2, MCP_OAUTH_TEST_DPOP, MCP_OAUTH_TEST_PEERS_ADMIN, MCP_OAUTH_TEST_IDP …
 */

/**
 * @typedef {object} Peers
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} exited
 * @property {() => Promise<void>} stop closes their stdin, then SIGTERM, then SIGKILL to their group
 * @property {() => void} kill
 */

/**
 * Starts a peers script under Node >= 22 with tsx, in a process group of its own: by default
 * test/integration/peers.ts (a real AS, two MCP servers and an admin endpoint). Resolves once it has printed its
 * one JSON line, with that description. The script stops when its stdin closes or on SIGTERM; what it prints
 * after its first line goes to `output` (default: nowhere).
 * `name` and `hint` make the error messages ("the test peers exited (1) before starting<hint>").
 * @param {{ node: string, script?: string, args?: string[], env?: NodeJS.ProcessEnv, name?: string, hint?: string, output?: NodeJS.WritableStream }} options
 * @returns {Promise<PeersDescription & Peers & Record<string, unknown>>}
 */
export async function startPeers({
  node,
  script = join(root, 'test', 'integration', 'peers.ts'),
  args = [],
  env = process.env,
  name = 'the test peers',
  hint = '',
  output,
}) {
  const group = spawnGroup(node, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = async () => {
    group.child.stdin?.end();
    await group.stop(4000);
  };
  let described;
  try {
    const { match, printed } = await untilOutput(group, /^(.*)\n/, {
      name,
      event: 'starting',
      streams: ['stdout'],
      hint: () => hint,
    });
    described = JSON.parse(match[1]);
    const rest = printed.slice(match[0].length);
    if (output) {
      if (rest) output.write(rest);
      group.child.stdout.pipe(output);
    } else {
      group.child.stdout.resume();
    }
  } catch (err) {
    group.kill();
    throw err;
  }
  return { ...described, exited: group.exited, stop, kill: group.kill };
}

/**
 * @typedef {object} Dirs the run's folder and its parts
 * @property {string} root
 * @property {string} userData
 * @property {string} extensions
 * @property {string} workspace the folder the workbench opens
 * @property {string} xdgConfig
 * @property {string} xdgData
 * @property {string} xdgState
 * @property {string} [tmp] a throwaway run's TMPDIR
 * @property {string} [home] a throwaway run's MCP_OAUTH_HOME
 * @property {string} settingsFile the user settings.json
 */

/**
 * @typedef {object} LaunchOptions
 * @property {string} [name] the log prefix and the temp folder's name (mcp-oauth-<name>-XXXXXX)
 * @property {(message: string) => void} [log]
 * @property {string} [dir] a folder to use and keep (npm start's state) instead of a fresh temp folder; then
 *   neither TMPDIR nor MCP_OAUTH_HOME is pointed into it
 * @property {string} [workspace] the folder to open (default <dir>/workspace)
 * @property {number} [port] code-server's port (default: a free one)
 * @property {ReturnType<typeof ensureVSCodeSetup>} [setup] from ensureVSCodeSetup() (default: called here)
 * @property {boolean} [peers] start the test peers; with a testsPath, their env reaches the tests
 * @property {(dirs: Dirs) => void | Promise<void>} [prepare] runs once the folders exist, before code-server
 * @property {Record<string, unknown> | ((peers: PeersDescription | undefined, dirs: Dirs) => Record<string, unknown>)} [settings]
 *   the user settings.json, on top of QUIET_SETTINGS; without it the file is left as it is
 * @property {string[]} [vsix] VSIX files installed (code-server --install-extension) before it starts
 * @property {Record<string, string> | ((dirs: Dirs) => Record<string, string>)} [env] more environment for
 *   code-server and so the extension host
 * @property {string[]} [args] more code-server flags
 * @property {boolean} [trusted] whether the workspace is trusted (default true: workspace trust is off); false
 *   opens it in Restricted Mode (needs `settings`)
 * @property {string} [extensionPath] extensionDevelopmentPath, in the workbench URL's payload
 * @property {string} [testsPath] extensionTestsPath, in the payload; turns on the smoke-test driver
 * @property {boolean} [browser] headless Chromium on the workbench (default true)
 * @property {{ width: number, height: number }} [viewport]
 * @property {boolean} [open] navigate to the workbench once the browser is up (default true)
 * @property {false | { clickCopyAndOpen?: boolean }} [user] the scripted user at the browser (./user.mjs)
 * @property {boolean} [signals] stop everything and exit on SIGINT (130), SIGTERM (143), SIGHUP (129) (default true)
 * @property {string} [pidFile] where to write code-server's pid while it runs
 * @property {boolean} [verbose] echo the browser-side log live (default MCP_OAUTH_TEST_VERBOSE=1)
 */

/**
 * @typedef {object} Launched
 * @property {Dirs} dirs
 * @property {{ workbench: string }} urls the workbench, with the folder to open and the payload
 * @property {(PeersDescription & Peers) | undefined} peers
 * @property {{ server: string, host: string, user: string }} logs code-server's output; the browser side (with a
 *   testsPath the workbench's log with the extension host console and the page's console errors; the page's
 *   exceptions, the scripted user); what the scripted user did and the page's exceptions, timestamped
 * @property {string[]} userLines what user.log holds so far, one line each
 * @property {import('playwright-core').Page} page the workbench (undefined with `browser: false`)
 * @property {import('playwright-core').BrowserContext} context
 * @property {import('playwright-core').Browser} browser
 * @property {() => Promise<{ kind: 'exit', code: number }>} testsExit the next codeAutomationExit (the tests' end)
 * @property {Promise<{ kind: 'crash' | 'browser-closed' | 'server-exit', code?: number | null, signal?: string | null }>} failure
 *   resolves when the page crashes, the browser closes or code-server exits
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} exited code-server's exit
 * @property {() => Promise<void>} stop the browser, then code-server's process group and the peers; idempotent
 * @property {() => void} kill SIGKILL to all of it, synchronously
 * @property {() => void} remove deletes a temp folder (never a given `dir`)
 * @property {string | undefined} interrupted the signal that is stopping the run, if one is
 */

/**
 * @param {LaunchOptions} [options]
 * @returns {Promise<Launched>}
 */
export async function launch(options = {}) {
  const {
    name = 'code-server',
    log = (message) => console.log(`[${name}] ${message}`),
    dir,
    port: wantedPort,
    peers: withPeers = false,
    prepare,
    settings,
    vsix = [],
    env: extraEnv = {},
    args: extraArgs = [],
    extensionPath,
    testsPath,
    browser: withBrowser = true,
    viewport,
    open = true,
    user = false,
    signals = true,
    pidFile,
    verbose = process.env.MCP_OAUTH_TEST_VERBOSE === '1',
    trusted = true,
  } = options;
  const setup = options.setup ?? ensureVSCodeSetup({ browser: withBrowser });
  const started = Date.now();

  const throwaway = !dir;
  const top = dir ? resolve(dir) : mkdtempSync(join(tmpdir(), `mcp-oauth-${name}-`));
  const dirs = {
    root: top,
    userData: join(top, 'user-data'),
    extensions: join(top, 'extensions'),
    workspace: options.workspace ?? join(top, 'workspace'),
    xdgConfig: join(top, 'xdg-config'),
    xdgData: join(top, 'xdg-data'),
    xdgState: join(top, 'xdg-state'),
    ...(throwaway ? { tmp: join(top, 'tmp'), home: join(top, 'mcp-oauth-home') } : {}),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  dirs.settingsFile = join(dirs.userData, 'User', 'settings.json');
  mkdirSync(dirname(dirs.settingsFile), { recursive: true });
  const logs = { server: join(top, 'code-server.log'), host: join(top, 'exthost.log'), user: join(top, 'user.log') };

  // The browser side's logs (with a browser only); closed by stop(), so they are complete once it resolves.
  const streams = withBrowser ? { host: createWriteStream(logs.host), user: createWriteStream(logs.user) } : {};
  const write = (stream, line) => {
    if (stream && !stream.writableEnded) stream.write(line + '\n');
  };
  const hostLine = (line) => {
    write(streams.host, line);
    if (verbose) console.log(line);
  };
  const userLines = [];
  const userLine = (line) => {
    const stamped = `[+${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`;
    userLines.push(stamped);
    write(streams.user, stamped);
    hostLine(line);
  };

  // What is running, for stop() and the exit hook.
  let server, peers, browser;
  let stopping, interrupted;
  const kill = () => {
    server?.kill();
    peers?.kill();
    if (pidFile) rmSync(pidFile, { force: true });
  };
  const handlers = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ].map(([signal, code]) => [
    signal,
    () => {
      if (interrupted) return;
      interrupted = signal;
      console.log(`\n[${name}] ${signal}: stopping code-server, the peers and the browser; logs in ${top}`);
      stop().finally(() => process.exit(code));
    },
  ]);
  const stop = () =>
    (stopping ??= (async () => {
      await browser?.close();
      // A kept folder (npm start's state) gives the extension host time to write its state; a throwaway run
      // does not wait for it.
      await Promise.allSettled([server?.stop(5000, throwaway ? 0 : 2000), peers?.stop()]);
      if (pidFile) rmSync(pidFile, { force: true });
      process.off('exit', kill);
      await Promise.all(Object.values(streams).map((stream) => new Promise((r) => stream.end(r))));
    })());
  process.on('exit', kill);
  if (signals) for (const [signal, handler] of handlers) process.on(signal, handler);
  /** A signal is ending the run: its handler reports and exits, so nothing here settles any more. */
  const halt = () => new Promise(() => {});

  // One thing at a time: on a machine with few cores, starting them side by side only slows each down.
  try {
    await prepare?.(dirs);
    const profile = ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
    const home = throwaway ? { MCP_OAUTH_HOME: dirs.home } : {};
    if (vsix.length) {
      const out = execFileSync(
        setup.node24,
        [setup.codeServerEntry, ...profile, ...vsix.flatMap((file) => ['--install-extension', file])],
        { env: codeServerEnv(dirs, home), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const installed = out.match(/was successfully installed/g)?.length ?? 0;
      if (installed !== vsix.length)
        throw new Error(`code-server --install-extension did not report ${vsix.length} installs:\n${out}`);
    }
    if (withPeers) {
      peers = await startPeers({ node: setup.node24 });
      log(`peers up: AS ${peers.env.MCP_OAUTH_TEST_AS}, MCP ${peers.env.MCP_OAUTH_TEST_MCP}`);
    }
    if (interrupted) return halt();
    if (settings) {
      const own = typeof settings === 'function' ? settings(peers, dirs) : settings;
      const trust = trusted ? {} : RESTRICTED_MODE_SETTINGS;
      writeFileSync(dirs.settingsFile, JSON.stringify({ ...QUIET_SETTINGS, ...own, ...trust }, null, 2) + '\n');
    }
    const env = codeServerEnv(dirs, {
      ...home,
      ...(testsPath ? peers?.env : {}), // for the tests; a user's extension host has none of it
      ...(typeof extraEnv === 'function' ? extraEnv(dirs) : extraEnv),
    });

    const port = wantedPort ?? (await freePort());
    const authority = `127.0.0.1:${port}`;
    server = spawnGroup(
      setup.node24,
      [
        setup.codeServerEntry,
        '--auth',
        'none',
        '--bind-addr',
        authority,
        ...profile,
        '--disable-telemetry',
        '--disable-update-check',
        ...(trusted ? ['--disable-workspace-trust'] : []),
        '--disable-getting-started-override',
        '--ignore-last-opened',
        ...(testsPath ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
        ...extraArgs,
        dirs.workspace,
      ],
      { cwd: dirs.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (pidFile) writeFileSync(pidFile, String(server.child.pid));
    const serverLog = createWriteStream(logs.server);
    server.child.stdout.pipe(serverLog);
    server.child.stderr.pipe(serverLog);
    await untilOutput(server, /HTTP server listening/, {
      name: 'code-server',
      event: 'listening',
      hint: (printed) => `; see ${logs.server}${printed.trim() ? `:\n${lastLines(printed, 15)}` : ''}`,
    });
    if (interrupted) return halt();
    log(`code-server ${server.child.pid} listening on ${authority}`);

    const remote = (path) => `vscode-remote://${authority}${pathToFileURL(path).pathname}`;
    const payload = [
      ...(extensionPath ? [['extensionDevelopmentPath', remote(extensionPath)]] : []),
      ...(testsPath ? [['extensionTestsPath', remote(testsPath)]] : []),
    ];
    const urls = {
      workbench: `http://${authority}/?folder=${encodeURIComponent(dirs.workspace)}${payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`,
    };
    const serverExit = server.exited.then(({ code, signal }) => ({ kind: 'server-exit', code, signal }));
    const launched = {
      dirs,
      urls,
      peers,
      logs,
      userLines,
      page: undefined,
      context: undefined,
      browser: undefined,
      testsExit: () => Promise.reject(new Error('there are no tests to wait for without a testsPath and a browser')),
      failure: serverExit,
      exited: server.exited,
      stop,
      kill,
      remove: () => {
        if (throwaway) rmSync(top, { recursive: true, force: true });
      },
      get interrupted() {
        return interrupted;
      },
    };
    if (!withBrowser) return launched;

    browser = await openBrowser({ chromium: setup.chromium, viewport, clipboard: true, handleSignals: false });
    if (interrupted) return halt();
    const { page, context } = browser;
    page.on('pageerror', (e) => userLine(`[page exception] ${e.stack ?? e.message}`));
    if (testsPath) {
      // The page's console repeats the workbench's log (as "%c INFO …" lines); keep only what that log lacks.
      // (Only here: listening makes Playwright copy every console call of the workbench, which costs CPU.)
      page.on('console', (m) => {
        if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('%c'))
          hostLine(`[page ${m.type()}] ${m.text()}`);
      });
      // The workbench calls these in smoke-test-driver mode: its log, which carries the extension host's console
      // (the tests' output), and the end of the tests' run(), which testsExit() hands out once per run.
      let testsExited;
      let nextExit;
      const arm = () => {
        nextExit = new Promise((r) => {
          testsExited = r;
        });
      };
      arm();
      launched.testsExit = () => nextExit;
      await page.exposeFunction('codeAutomationLog', (type, a) =>
        hostLine(`[${type}] ${(Array.isArray(a) ? a : [a]).join(' ')}`),
      );
      await page.exposeFunction('codeAutomationExit', (code) => {
        const done = testsExited;
        arm();
        done({ kind: 'exit', code });
      });
    }
    const crashed = new Promise((r) => page.once('crash', () => r({ kind: 'crash' })));
    const closed = new Promise((r) => browser.browser.once('disconnected', () => r({ kind: 'browser-closed' })));
    Object.assign(launched, {
      page,
      context,
      browser: browser.browser,
      failure: Promise.race([crashed, closed, serverExit]),
    });
    if (user) {
      const env = peers?.env;
      const asOrigins = [env?.MCP_OAUTH_TEST_AS, env?.MCP_OAUTH_TEST_AS_AWKWARD, env?.MCP_OAUTH_TEST_IDP].filter(
        Boolean,
      );
      const stopClicking = actAsUser(context, page, asOrigins, userLine, user);
      void server.exited.finally(stopClicking);
      browser.browser.once('disconnected', stopClicking);
    }
    if (open) await page.goto(urls.workbench);
    if (interrupted) return halt();
    return launched;
  } catch (err) {
    if (interrupted) return halt();
    await stop();
    // Before code-server ran there is nothing to look at in a temp folder; after, its log is named in the error.
    if (throwaway && !server) rmSync(top, { recursive: true, force: true });
    throw err;
  }
}
