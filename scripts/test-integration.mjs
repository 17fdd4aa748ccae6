// Runs the integration tests (test/integration, bundled into out/integration) inside a real VS Code, offline:
// code-server 1.139.1 (the VS Code server build, with a real Node extension host) driven by headless Chromium
// through playwright-core. The default launcher, here and in CI; `npm run test:electron` runs the same suite
// in desktop VS Code. Prints one line per test and closes with `N passed, N failed`; exits non-zero on any
// failure or when no results came back.
//
//   node scripts/test-integration.mjs [--no-build] [--keep]
//                                     [--extensionDevelopmentPath=DIR] [--extensionTestsPath=DIR]
//
// It installs what it needs first (scripts/vscode-setup.mjs: idempotent, cached in ~/.cache/mcp-oauth) and
// builds with esbuild.mjs unless --no-build. Each run gets a temp folder (user data, extensions, XDG dirs, a
// workspace folder, logs), removed after a passing run unless --keep; on failure its path is printed.
//
// Environment:
//   MCP_OAUTH_TEST_TIMEOUT_MS  the whole run's limit (default 600000, 10 min)
//   MCP_OAUTH_TEST_SETTINGS    a JSON object merged into the user settings.json, e.g. '{"mcpOAuth.servers":[…]}'
//   MCP_OAUTH_TEST_RESULTS     where index.ts writes its JSON results (default: in the temp folder)
//   MCP_OAUTH_TEST_GREP        run only the tests whose full title matches this regular expression
//   MCP_OAUTH_TEST_VERBOSE=1   also echo the workbench and extension host console here, live
//   MCP_OAUTH_TEST_KEEP=1      same as --keep
// The whole environment reaches the extension host (so every MCP_OAUTH_TEST_* variable does), apart from
// VSCODE_* variables of an enclosing VS Code. The launcher adds MCP_OAUTH_TEST_WORKSPACE (the opened folder)
// and points MCP_OAUTH_HOME and the XDG config/data/state folders into the temp folder.
import { BROWSER_ARGS, QUIET_SETTINGS, findFile, freePort, startPeers, tail } from './codeServer.mjs';
import { actAsUser } from './integrationUser.mjs';
import { spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The user settings for a test run: the quiet ones plus MCP_OAUTH_TEST_SETTINGS (a JSON object) on top. */
export function userSettings(env = process.env) {
  const extra = env.MCP_OAUTH_TEST_SETTINGS;
  if (!extra) return { ...QUIET_SETTINGS };
  let parsed;
  try {
    parsed = JSON.parse(extra);
  } catch (err) {
    throw new Error(`MCP_OAUTH_TEST_SETTINGS is not JSON: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('MCP_OAUTH_TEST_SETTINGS must be a JSON object');
  return { ...QUIET_SETTINGS, ...parsed };
}

/**
 * Prints the results file's tests (unless `print` is false) and returns the counts; `undefined` when there is
 * no results file.
 */
export function reportResults(resultsPath, { print = true } = {}) {
  if (!existsSync(resultsPath)) return undefined;
  let results;
  try {
    results = JSON.parse(readFileSync(resultsPath, 'utf8'));
  } catch (err) {
    console.log(`results file ${resultsPath} is unreadable: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  const total = (results.tests ?? []).length;
  const counts = { passed: Number(results.passes) || 0, failed: Number(results.failures) || 0, total, results };
  if (!print) return counts;
  for (const t of results.tests ?? []) {
    const mark = t.state === 'passed' ? 'ok  ' : t.state === 'pending' ? 'skip' : 'FAIL';
    console.log(`  ${mark} ${t.title}${t.durationMs !== undefined ? ` (${t.durationMs} ms)` : ''}`);
  }
  for (const t of (results.tests ?? []).filter((x) => x.state === 'failed')) {
    console.log(`\nFAIL ${t.title}${t.file ? ` [${t.file}]` : ''}\n${indent(mapStack(t.error ?? ''))}`);
  }
  if (results.error) console.log(`\nThe run failed: ${mapStack(results.error)}`);
  if (results.pending) console.log(`(${results.pending} pending)`);
  return counts;
}

/**
 * Points stack frames in a bundle (`…/out/integration/index.js:L:C`) at the TypeScript sources, using the
 * bundle's source map: VS Code's extension host formats stacks itself, so Node's source-map support can't.
 */
export function mapStack(text) {
  const maps = new Map();
  return text.replace(/(\/[^\s()'"]+\.js):(\d+):(\d+)/g, (whole, file, line, column) => {
    if (!maps.has(file)) {
      let map;
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = undefined;
      }
      maps.set(file, map);
    }
    const entry = maps.get(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry?.originalSource) return whole;
    const source = entry.originalSource.startsWith('file:')
      ? fileURLToPath(entry.originalSource)
      : resolve(dirname(file), entry.originalSource);
    return `${relative(process.cwd(), source) || source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

const indent = (text) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

function parseArgs(argv) {
  const opts = {
    build: true,
    keep: process.env.MCP_OAUTH_TEST_KEEP === '1',
    devPath: root,
    testsPath: join(root, 'out', 'integration'),
  };
  for (const a of argv) {
    if (a === '--no-build') opts.build = false;
    else if (a === '--keep') opts.keep = true;
    else if (a.startsWith('--extensionDevelopmentPath=')) opts.devPath = resolve(a.slice(a.indexOf('=') + 1));
    else if (a.startsWith('--extensionTestsPath=')) opts.testsPath = resolve(a.slice(a.indexOf('=') + 1));
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

/** Every file under `roots` that contains one of the recorded secret values; undefined when none were recorded. */
function scanForSecrets(secretsPath, roots) {
  if (!existsSync(secretsPath)) return undefined;
  const secrets = [...new Set(JSON.parse(readFileSync(secretsPath, 'utf8')))].filter(
    (s) => typeof s === 'string' && s.length >= 8,
  );
  if (!secrets.length) return undefined;
  const found = [];
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
      return;
    }
    if (!stat.isFile() || stat.size > 50 * 1024 * 1024) return; // sockets and pipes are not files to read
    let text;
    try {
      text = readFileSync(path).toString('latin1');
    } catch {
      return;
    }
    if (secrets.some((secret) => text.includes(secret))) found.push(path);
  };
  for (const root of roots) visit(root);
  return found;
}

async function main() {
  const t0 = Date.now();
  const log = (...a) => console.log(`[integration +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
  const opts = parseArgs(process.argv.slice(2));
  const timeoutMs = Number(process.env.MCP_OAUTH_TEST_TIMEOUT_MS) || 600_000;
  const verbose = process.env.MCP_OAUTH_TEST_VERBOSE === '1';

  if (opts.build) {
    log('building (node esbuild.mjs) …');
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`the build failed:\n${b.stdout}${b.stderr}`);
  }
  if (!existsSync(join(opts.testsPath, 'index.js')))
    throw new Error(`${opts.testsPath}/index.js is missing; run \`node esbuild.mjs\` first`);

  const baseSettings = userSettings(); // MCP_OAUTH_TEST_SETTINGS errors surface before anything starts
  const { ensureVSCodeSetup } = await import('./vscode-setup.mjs');
  const setup = ensureVSCodeSetup();
  const { chromium } = await import('playwright-core');
  const peers = await startPeers(setup.node24, log);
  const settings = { ...baseSettings, ...peers.settings };

  const tmp = mkdtempSync(join(tmpdir(), 'mcp-oauth-integration-'));
  const dirs = {
    userData: join(tmp, 'user-data'),
    extensions: join(tmp, 'extensions'),
    workspace: join(tmp, 'workspace'),
    xdgConfig: join(tmp, 'xdg-config'),
    xdgData: join(tmp, 'xdg-data'),
    xdgState: join(tmp, 'xdg-state'),
    home: join(tmp, 'mcp-oauth-home'),
    tmp: join(tmp, 'tmp'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
  const resultsPath = resolve(process.env.MCP_OAUTH_TEST_RESULTS || join(tmp, 'results.json'));
  rmSync(resultsPath, { force: true }); // never report a previous run's results
  const serverLogPath = join(tmp, 'code-server.log');
  const secretsPath = join(tmp, 'secrets.json'); // the tests list the token values they saw; scanned at the end
  const phasePath = join(tmp, 'phase'); // 1: the main run; 2: after a window reload
  writeFileSync(phasePath, '1');
  const hostLogPath = join(tmp, 'exthost.log');

  /** @type {import('node:child_process').ChildProcess | undefined} */
  let server;
  /** @type {import('playwright-core').Browser | undefined} */
  let browser;
  let cleaning;
  let stopping; // the signal that ends this run early
  const killServerGroup = (signal) => {
    if (server?.pid === undefined) return;
    try {
      process.kill(-server.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const cleanup = () =>
    (cleaning ??= (async () => {
      peers.stop();
      if (browser) await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      if (server && server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        killServerGroup('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      killServerGroup('SIGKILL'); // whatever of code-server's process group is left (extension host, pty host)
    })());
  // Last resort when the process ends some other way: synchronous, so only the kill.
  process.on('exit', () => killServerGroup('SIGKILL'));
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ]) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = signal;
      console.log(`\n[integration] ${signal}: stopping code-server and the browser; logs in ${tmp}`);
      cleanup().finally(() => process.exit(code));
    });
  }

  let outcome;
  try {
    const port = await freePort();
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
    Object.assign(env, {
      // Gallery look-ups fail fast on loopback instead of waiting on a network that isn't there.
      EXTENSIONS_GALLERY: JSON.stringify({
        serviceUrl: 'http://127.0.0.1:9/gallery',
        itemUrl: 'http://127.0.0.1:9/item',
      }),
      XDG_CONFIG_HOME: dirs.xdgConfig,
      XDG_DATA_HOME: dirs.xdgData,
      XDG_STATE_HOME: dirs.xdgState,
      MCP_OAUTH_HOME: dirs.home,
      // code-server's helpers leave their IPC sockets in the temp folder; keep them (and the tests' temp
      // files) in ours, unless that makes socket paths too long (108 bytes on Linux).
      ...(dirs.tmp.length <= 60 ? { TMPDIR: dirs.tmp } : {}),
      MCP_OAUTH_TEST_RESULTS: resultsPath,
      MCP_OAUTH_TEST_WORKSPACE: dirs.workspace,
      MCP_OAUTH_TEST_SECRETS: secretsPath,
      MCP_OAUTH_TEST_PHASE_FILE: phasePath,
      ...peers.env,
    });
    const args = [
      setup.codeServerEntry,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--user-data-dir',
      dirs.userData,
      '--extensions-dir',
      dirs.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      '--vscode-option',
      'enable-smoke-test-driver',
      dirs.workspace,
    ];
    // Its own process group, so the extension host and the other helpers it starts go down with it.
    server = spawn(setup.node24, args, { cwd: dirs.workspace, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const serverLog = createWriteStream(serverLogPath);
    server.stdout.pipe(serverLog);
    server.stderr.pipe(serverLog);
    const serverExited = new Promise((r) =>
      server.once('exit', (code, signal) => r({ kind: 'server-exit', code, signal })),
    );
    await new Promise((res, rej) => {
      let seen = '';
      const onData = (d) => {
        seen += d;
        if (/HTTP server listening/.test(seen)) res();
      };
      server.stdout.on('data', onData);
      server.stderr.on('data', onData);
      serverExited.then((e) =>
        rej(new Error(`code-server exited (${e.code ?? e.signal}) before listening; see ${serverLogPath}`)),
      );
      setTimeout(() => rej(new Error(`code-server did not listen within 60 s; see ${serverLogPath}`)), 60_000).unref();
    });
    log(`code-server ${server.pid} listening on 127.0.0.1:${port}`);

    browser = await chromium.launch({
      executablePath: setup.chromium,
      headless: true,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false, // cleanup() closes it
      args: BROWSER_ARGS,
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    const hostLog = createWriteStream(hostLogPath);
    const hostLine = (line) => {
      hostLog.write(line + '\n');
      if (verbose) console.log(line);
    };
    // The workbench calls these in smoke-test-driver mode: its log, which carries the extension host's console
    // (the tests' output), and the end of run().
    await page.exposeFunction('codeAutomationLog', (type, a) =>
      hostLine(`[${type}] ${(Array.isArray(a) ? a : [a]).join(' ')}`),
    );
    // The page's own console repeats that log (as "%c INFO …" lines); keep only what the log does not carry.
    page.on('console', (m) => {
      if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('%c'))
        hostLine(`[page ${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => hostLine(`[page exception] ${e.stack ?? e.message}`));
    let onExit;
    let exited = new Promise((r) => {
      onExit = r;
    });
    await page.exposeFunction('codeAutomationExit', (code) => onExit({ kind: 'exit', code }));
    const crashed = new Promise((r) => page.once('crash', () => r({ kind: 'crash' })));
    const disconnected = new Promise((r) => browser.once('disconnected', () => r({ kind: 'browser-closed' })));

    const authority = `127.0.0.1:${port}`;
    const remote = (path) => `vscode-remote://${authority}${pathToFileURL(path).pathname}`;
    const payload = [
      ['extensionDevelopmentPath', remote(opts.devPath)],
      ['extensionTestsPath', remote(opts.testsPath)],
    ];
    const url = `http://${authority}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const stopUser = actAsUser(page.context(), page, peers.env.MCP_OAUTH_TEST_AS, hostLine);
    exited.finally(stopUser);
    await page.goto(url);
    log(`workbench loading; running ${opts.testsPath} against ${opts.devPath}`);
    let timer;
    const timedOut = new Promise((r) => {
      timer = setTimeout(() => r({ kind: 'timeout' }), timeoutMs);
    });
    outcome = await Promise.race([exited, crashed, disconnected, serverExited, timedOut]);
    // Phase 2: reload the window (a new extension host, the same profile) and run the tests that check what
    // must survive a reload, such as sessions in SecretStorage.
    if (outcome.kind === 'exit' && outcome.code === 0 && !process.env.MCP_OAUTH_TEST_GREP) {
      const first = JSON.parse(readFileSync(resultsPath, 'utf8'));
      writeFileSync(phasePath, '2');
      exited = new Promise((r) => {
        onExit = r;
      });
      log('reloading the window for the tests that run after a reload');
      await page.reload();
      outcome = await Promise.race([exited, crashed, disconnected, serverExited, timedOut]);
      const second = existsSync(resultsPath)
        ? JSON.parse(readFileSync(resultsPath, 'utf8'))
        : { passes: 0, failures: 1, tests: [], error: 'no results after the reload' };
      writeFileSync(
        resultsPath,
        JSON.stringify({
          ...second,
          passes: (first.passes ?? 0) + (second.passes ?? 0),
          failures: (first.failures ?? 0) + (second.failures ?? 0),
          pending: (first.pending ?? 0) + (second.pending ?? 0),
          tests: [...(first.tests ?? []), ...(second.tests ?? [])],
        }),
      );
    }
    clearTimeout(timer);
    if (outcome.kind !== 'exit') {
      await page.screenshot({ path: join(tmp, 'workbench.png') }).catch(() => {});
    }
    if (stopping) return new Promise(() => {}); // the signal handler reports and exits
    log(
      outcome.kind === 'exit'
        ? `tests finished (exit code ${outcome.code})`
        : outcome.kind === 'timeout'
          ? `timed out after ${timeoutMs / 1000} s (MCP_OAUTH_TEST_TIMEOUT_MS)`
          : outcome.kind === 'server-exit'
            ? `code-server exited (${outcome.code ?? outcome.signal}) during the run`
            : outcome.kind === 'crash'
              ? 'the workbench page crashed'
              : 'the browser closed unexpectedly',
    );
  } catch (err) {
    if (stopping) return new Promise(() => {});
    outcome = { kind: 'error', error: err };
    console.log(`[integration] ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await cleanup();
  }

  const counts = reportResults(resultsPath);
  let { passed = 0, failed = 0 } = counts ?? {};
  const problems = [];
  const leaks = scanForSecrets(secretsPath, [dirs.userData, dirs.workspace, hostLogPath]);
  if (leaks === undefined) {
    console.log('  (no secrets were recorded by the tests; the secret scan did not run)');
  } else if (leaks.length) {
    failed++;
    console.log(
      `  FAIL no token, code or secret in the logs, settings or state\n${leaks.map((l) => `       found in ${l}`).join('\n')}`,
    );
  } else {
    passed++;
    console.log('  ok   no token, code or secret in the logs, settings or state (scanned after the run)');
  }
  if (!counts) problems.push('no results came back from the extension host');
  if (outcome?.kind !== 'exit') problems.push('the run did not finish');
  else if (outcome.code !== 0 && failed === 0) problems.push(`the extension host reported exit code ${outcome.code}`);
  if (counts && counts.total === 0 && !counts.results.error && !process.env.MCP_OAUTH_TEST_GREP)
    problems.push('no tests ran');
  if (problems.length && failed === 0) failed = 1;
  const ok = failed === 0;
  if (!ok) {
    if (problems.length) console.log(`\n[integration] failed: ${problems.join('; ')}`);
    console.log(
      `\n--- last 60 lines of ${hostLogPath} (workbench log and extension host console) ---\n${tail(hostLogPath, 60)}\n---`,
    );
    const channel = findFile(join(dirs.userData, 'logs'), 'MCP OAuth.log');
    if (channel)
      console.log(`--- last 30 lines of ${channel} (the extension's output channel) ---\n${tail(channel, 30)}\n---`);
    console.log(
      `[integration] logs kept in ${tmp}: code-server.log, exthost.log, user-data/logs/ (remoteexthost.log, output channels)${existsSync(join(tmp, 'workbench.png')) ? ', workbench.png' : ''}`,
    );
  } else if (opts.keep) {
    console.log(`[integration] kept ${tmp}`);
  } else {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[integration] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
}
