// What the two real-VS-Code launchers share: scripts/test-integration.mjs (the extension tests in the
// extension host) and scripts/test-ui.mjs (the real workbench driven like a user). code-server 1.139.1 under
// Node 24, the test peers (test/integration/peers.ts) and headless Chromium.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

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

/** Headless Chromium's flags for driving the workbench offline. */
export const BROWSER_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** code-server's flags for a throwaway, offline instance. */
export const codeServerFlags = ({ port, userData, extensions }) => [
  '--auth',
  'none',
  '--bind-addr',
  `127.0.0.1:${port}`,
  '--user-data-dir',
  userData,
  '--extensions-dir',
  extensions,
  '--disable-telemetry',
  '--disable-update-check',
  '--disable-workspace-trust',
  '--disable-getting-started-override',
  '--ignore-last-opened',
];

/**
 * The environment for code-server: this one without an enclosing VS Code's VSCODE_* variables, gallery
 * look-ups that fail fast on loopback, and the XDG folders in the run's temp folder.
 */
export function codeServerEnv({ xdgConfig, xdgData, xdgState, tmp }, extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
  return {
    ...env,
    EXTENSIONS_GALLERY: JSON.stringify({
      serviceUrl: 'http://127.0.0.1:9/gallery',
      itemUrl: 'http://127.0.0.1:9/item',
    }),
    XDG_CONFIG_HOME: xdgConfig,
    XDG_DATA_HOME: xdgData,
    XDG_STATE_HOME: xdgState,
    // code-server's helpers leave their IPC sockets in the temp folder; keep them in ours, unless that makes
    // socket paths too long (108 bytes on Linux).
    ...(tmp && tmp.length <= 60 ? { TMPDIR: tmp } : {}),
    ...extra,
  };
}

export const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/**
 * Starts test/integration/peers.ts (real AS, two MCP servers, an admin endpoint) under Node 24; resolves with
 * its settings and env, and `stop()`.
 */
export async function startPeers(node24, log) {
  const child = spawn(node24, ['--import', 'tsx', join(root, 'test', 'integration', 'peers.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((res, rej) => {
    let seen = '';
    child.stdout.on('data', (d) => {
      seen += d;
      const i = seen.indexOf('\n');
      if (i >= 0) res(seen.slice(0, i));
    });
    child.once('exit', (code) => rej(new Error(`the test peers exited (${code}) before starting`)));
    setTimeout(() => rej(new Error('the test peers did not start within 60 s')), 60_000).unref();
  });
  const described = JSON.parse(line);
  log(`peers up: AS ${described.env.MCP_OAUTH_TEST_AS}, MCP ${described.env.MCP_OAUTH_TEST_MCP}`);
  return {
    ...described,
    child,
    stop: () => {
      try {
        child.kill('SIGTERM');
      } catch {
        /* gone */
      }
    },
  };
}

/**
 * Spawns code-server in its own process group (so the extension host and the other helpers it starts go down
 * with it), logging to `logPath`; resolves once it listens. `killGroup(signal)` signals the whole group.
 */
export async function startCodeServer({ node24, entry, args, env, cwd, logPath }) {
  const child = spawn(node24, [entry, ...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logPath);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ kind: 'server-exit', code, signal })));
  const killGroup = (signal) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  try {
    await new Promise((res, rej) => {
      let seen = '';
      const onData = (d) => {
        seen += d;
        if (/HTTP server listening/.test(seen)) res();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      exited.then((e) => rej(new Error(`code-server exited (${e.code ?? e.signal}) before listening; see ${logPath}`)));
      setTimeout(() => rej(new Error(`code-server did not listen within 60 s; see ${logPath}`)), 60_000).unref();
    });
  } catch (err) {
    killGroup('SIGKILL');
    throw err;
  }
  /** SIGTERM to the group, up to 5 s for code-server to exit, then SIGKILL to what is left. */
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    killGroup('SIGKILL');
  };
  return { child, exited, killGroup, stop };
}

/** The last `lines` lines of a log file, for a failure report. */
export function tail(file, lines) {
  if (!existsSync(file)) return `(no ${file})`;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** The first file called `name` under `dir`, depth first (the output channel's log in a user-data folder). */
export function findFile(dir, name) {
  if (!existsSync(dir)) return undefined;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isFile() && e.name === name) return p;
    if (e.isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    }
  }
  return undefined;
}
