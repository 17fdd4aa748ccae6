// `npm start`: the whole demo on loopback. Builds, starts the demo peers (scripts/demo.ts: an oidc-provider
// authorization server and protected MCP servers, under Node >= 22), then VS Code with this extension and
// `mcpOAuth.servers` pre-filled with the demo servers, and prints what to open. Ctrl-C stops all of it.
//
// VS Code: a desktop VS Code when `code` is on PATH (`code --extensionDevelopmentPath=<repo>`, in a user data
// folder of its own); otherwise, or in CI, code-server (VS Code in the browser, set up into ~/.cache/mcp-oauth
// on first use by scripts/vscode-setup.mjs, started by the launcher the tests use, scripts/codeServer) with the
// extension linked into its extensions folder, so a rebuild (`npm run watch`) and a window reload pick up code
// changes.
//
// Environment:
//   MCP_OAUTH_DEMO_PORT         first of the four ports of the demo peers (default 7300: AS, then MCP servers)
//   MCP_OAUTH_DEMO_VSCODE_PORT  code-server's port (default 7400)
//   MCP_OAUTH_DEMO_VSCODE       `desktop` or `code-server`, to choose instead of the detection
//   MCP_OAUTH_DEMO_AS_HOST      the AS's loopback address (default 127.0.0.1, or 127.0.0.2 for code-server: see asHostFor)
//   MCP_OAUTH_DEMO_STATE        where the demo keeps its state (default ~/.cache/mcp-oauth/demo): VS Code's user
//                               data and settings, code-server's extensions, the workspace, the AS's clients
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, probePort, startPeers as startPeerScript } from './codeServer/index.mjs';
import { cacheRoot, ensureNode24 } from './node24.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const extensionId = `${pkg.publisher}.${pkg.name}`;
const state = resolve(process.env.MCP_OAUTH_DEMO_STATE || join(cacheRoot, 'demo'));
const workspace = join(state, 'workspace');

const say = (msg) => console.log(`[demo] ${msg}`);

class DemoError extends Error {}

/** A port from the environment, or the default. */
function portFrom(name, fallback, span = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1024 || port + span - 1 > 65535)
    throw new DemoError(`${name}=${raw} is not a usable port (1024 to ${65536 - span})`);
  return port;
}

/** `ports`: numbers, or [port, host] for another loopback address. */
async function checkPorts(ports, envName) {
  ports = ports.map((p) => (Array.isArray(p) ? p : [p, '127.0.0.1']));
  for (const [port, host] of ports) {
    const problem = await probePort(port, host);
    if (problem) {
      const why = problem === 'EADDRINUSE' ? 'in use' : problem;
      const range =
        ports.length > 1
          ? `ports ${ports[0][0]}–${ports.at(-1)[0]} (${host}:${port} is ${why})`
          : `port ${port} (${why})`;
      throw new DemoError(
        `cannot use ${range}; is another demo running? Stop it, or set ${envName} to another ${ports.length > 1 ? 'base port' : 'port'}, e.g. ${envName}=${ports[0][0] + 1000} npm start`,
      );
    }
  }
}

/** The first executable called one of `names` on PATH. */
function onPath(names) {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (lstatSync(candidate).isDirectory()) continue;
        return candidate;
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

/** The desktop VS Code CLI to use, or undefined for code-server; with the reason for the choice. */
function chooseVSCode() {
  const choice = process.env.MCP_OAUTH_DEMO_VSCODE;
  if (choice && choice !== 'desktop' && choice !== 'code-server')
    throw new DemoError(`MCP_OAUTH_DEMO_VSCODE must be \`desktop\` or \`code-server\`, not ${choice}`);
  if (choice === 'code-server') return { reason: 'MCP_OAUTH_DEMO_VSCODE=code-server' };
  const code = onPath(process.platform === 'win32' ? ['code.cmd', 'code.exe'] : ['code']);
  if (choice === 'desktop') {
    if (!code) throw new DemoError('MCP_OAUTH_DEMO_VSCODE=desktop, but there is no `code` on PATH');
    return { code };
  }
  if (!code) return { reason: 'no desktop VS Code (`code`) on PATH' };
  if (process.env.CI && process.env.CI !== 'false') return { reason: 'CI is set' };
  let real = code;
  try {
    real = realpathSync(code);
  } catch {
    /* keep the PATH entry */
  }
  // The `code` of a remote window (SSH, dev container, Codespaces) or of code-server opens no desktop window.
  if (/remote-cli|code-server|\.vscode-server|vscode-remote/i.test(real))
    return { reason: `${code} is a remote window's CLI, not a desktop VS Code` };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
    return { reason: 'no display (DISPLAY is unset)' };
  return { code };
}

/** Where the next token starts: past whitespace and comments. */
function nextToken(text, i) {
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      continue;
    }
    return i;
  }
}

/** JSON with comments and trailing commas (settings.json) to JSON. */
function stripJsonc(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === ',' && '}]'.includes(text[nextToken(text, i + 1)] ?? '')) {
      // a trailing comma: dropped
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Sets the demo's `mcpOAuth.servers` in a user settings.json, keeping every other setting; `defaults` are added
 * only where the file has no value. A file with comments is rewritten without them (the original is kept as
 * settings.json.bak). Refuses to touch a file it cannot read.
 */
function writeUserSettings(file, servers, defaults) {
  let settings = {};
  let text;
  if (existsSync(file)) {
    text = readFileSync(file, 'utf8');
    const plain = stripJsonc(text);
    try {
      settings = plain.trim() ? JSON.parse(plain) : {};
    } catch (err) {
      throw new DemoError(`${file} is not valid JSON (${err.message}); fix or remove it, then run npm start again`);
    }
    if (!settings || typeof settings !== 'object' || Array.isArray(settings))
      throw new DemoError(`${file} does not hold a JSON object; fix or remove it`);
    if (plain !== text && text.trim()) writeFileSync(`${file}.bak`, text);
  }
  for (const [key, value] of Object.entries(defaults)) if (!(key in settings)) settings[key] = value;
  settings['mcpOAuth.servers'] = servers;
  const next = `${JSON.stringify(settings, null, 2)}\n`;
  if (next !== text) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, next);
  }
}

/** The demo workspace: a folder with a README.md that says what to try (VS Code opens it on start). */
function writeWorkspace(described, vscodeKind) {
  mkdirSync(workspace, { recursive: true });
  const servers = described.servers.map((s) => `- **${s.name}**, ${s.url}: ${s.what}.`).join('\n');
  writeFileSync(
    join(workspace, 'README.md'),
    `# MCP OAuth demo

\`npm start\` runs everything on loopback: an authorization server (oidc-provider) at ${described.issuer} and these protected MCP servers:

${servers}

They are already in your user settings (\`mcpOAuth.servers\`). The demo login at the authorization server takes **${described.login}**.

## Try

1. Open the **MCP OAuth** view in the activity bar. It lists the three demo servers.
2. On **Demo: split-domain AS**, choose **Sign In**. The browser opens the authorization server; sign in with any user name and password and approve. The view then shows the account, the token and the tools.
3. On **Demo: device code**, choose **Sign In with Device Code**: a notification shows the code, **Copy & Open** opens the verification page; paste the code, sign in and approve.
4. Run **MCP: List Servers**, pick a demo server and start it: VS Code's MCP client reaches it through the extension's token gateway and lists its tools (\`whoami\`, \`admin_action\`).
5. ${vscodeKind === 'desktop' ? 'In Copilot Chat, switch to agent mode and ask: *Use the whoami tool of the demo server*.' : 'In a desktop VS Code with Copilot, agent mode can call these tools too (`npm start` uses a desktop VS Code when `code` is on PATH).'}

Sign-ins end with the demo: the authorization server keeps its keys and tokens in memory. Ctrl-C in the terminal that runs \`npm start\` stops everything.
`,
  );
}

/**
 * Links the repository into code-server's extensions folder as `<publisher>.<name>-<version>`, so it runs the
 * working tree's dist/ (rebuild, then reload the window). Removes other versions of it, and forgets an
 * earlier uninstall of this version.
 */
function linkExtension(extensionsDir) {
  mkdirSync(extensionsDir, { recursive: true });
  const name = `${extensionId}-${pkg.version}`;
  for (const entry of readdirSync(extensionsDir)) {
    if (!entry.toLowerCase().startsWith(`${extensionId}-`)) continue;
    const path = join(extensionsDir, entry);
    const link = lstatSync(path).isSymbolicLink();
    if (entry === name && link && resolve(extensionsDir, readlinkSync(path)) === root) continue;
    if (link) unlinkSync(path);
    else rmSync(path, { recursive: true, force: true }); // an installed copy (VSIX) would shadow the working tree
  }
  const target = join(extensionsDir, name);
  if (!existsSync(target)) symlinkSync(root, target, 'dir');
  // VS Code's list of installed extensions: once it exists, VS Code loads only what it lists, so this
  // extension's entry is put there (replacing any other version's).
  const manifest = join(extensionsDir, 'extensions.json');
  let entries = [];
  try {
    entries = JSON.parse(readFileSync(manifest, 'utf8'));
  } catch {
    /* none yet, or unreadable: start over */
  }
  if (!Array.isArray(entries)) entries = [];
  const entry = {
    identifier: { id: extensionId },
    version: pkg.version,
    location: { $mid: 1, path: target, scheme: 'file' },
    relativeLocation: name,
  };
  const others = entries.filter((e) => e?.identifier?.id?.toLowerCase() !== extensionId);
  const next = JSON.stringify([...others, entry]);
  if (next !== JSON.stringify(entries)) writeFileSync(manifest, next);
  const obsolete = join(extensionsDir, '.obsolete');
  if (existsSync(obsolete)) {
    try {
      const marks = JSON.parse(readFileSync(obsolete, 'utf8'));
      if (marks[name]) {
        delete marks[name];
        writeFileSync(obsolete, JSON.stringify(marks));
      }
    } catch {
      /* leave it */
    }
  }
  return target;
}

const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
const codeServerDir = join(state, 'code-server');
const codeServerPidFile = join(codeServerDir, 'code-server.pid');
const ownerFile = join(state, 'npm-start.pid');

/** One `npm start` per state folder: they would share VS Code's user data. */
function claimState() {
  mkdirSync(state, { recursive: true });
  let owner;
  try {
    owner = Number(readFileSync(ownerFile, 'utf8'));
  } catch {
    /* none */
  }
  let ownerCmd = 'start.mjs';
  try {
    ownerCmd = readFileSync(`/proc/${owner}/cmdline`, 'utf8');
  } catch {
    /* not Linux, or gone */
  }
  if (owner && owner !== process.pid && isAlive(owner) && ownerCmd.includes('start.mjs')) {
    throw new DemoError(
      `another npm start (pid ${owner}) is running with ${state}; stop it first (or set MCP_OAUTH_DEMO_STATE to another folder)`,
    );
  }
  writeFileSync(ownerFile, String(process.pid));
  process.on('exit', () => {
    try {
      if (Number(readFileSync(ownerFile, 'utf8')) === process.pid) unlinkSync(ownerFile);
    } catch {
      /* gone */
    }
  });
}

/**
 * Kills a code-server that an earlier `npm start` left behind (it was killed without a chance to clean up).
 * The state folder is ours (claimState), so a live code-server recorded there is a leftover; its command line
 * must name our user data folder, since a pid may be reused.
 */
async function stopLeftover(marker) {
  if (!existsSync(codeServerPidFile)) return;
  const pid = Number(readFileSync(codeServerPidFile, 'utf8'));
  rmSync(codeServerPidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  } // gone (or not Linux)
  if (!cmdline.includes(marker)) return;
  say(`stopping code-server ${pid}, left over from an earlier npm start`);
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function build() {
  say('building (node esbuild.mjs) …');
  const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  if (b.status !== 0) throw new DemoError(`the build failed:\n${b.stdout}${b.stderr}`);
}

/** The running parts, for stopping them: each has a name, `exited` (a promise) and `stop()`. */
const parts = [];
let stopping = false;

/**
 * The loopback address for the demo AS. code-server sends every 127.0.0.1 or localhost URL that an extension
 * opens (the AS's sign-in and device pages) through its /proxy/<port>/ route, which decodes and re-encodes the
 * query (splitting a redirect_uri that has a query of its own, as code-server's callback URI has) and breaks
 * the AS's pages, whose links are absolute paths. Its browser runs on this machine, where all of 127.0.0.0/8
 * is loopback on Linux, so there the AS goes on 127.0.0.2, which code-server leaves alone.
 */
async function asHostFor(codeServer) {
  if (process.env.MCP_OAUTH_DEMO_AS_HOST) return process.env.MCP_OAUTH_DEMO_AS_HOST;
  if (!codeServer) return '127.0.0.1';
  if (!(await probePort(0, '127.0.0.2'))) return '127.0.0.2';
  say(
    '127.0.0.2 is not available here, so the AS uses 127.0.0.1: code-server will route its sign-in pages through its proxy, which breaks them; use the CLI to sign in',
  );
  return '127.0.0.1';
}

/**
 * Starts scripts/demo.ts --describe in its own process group (away from the terminal's Ctrl-C, which this
 * process handles); resolves with its description once it listens. It stops when its stdin closes, so also
 * when this process dies without a chance to stop it.
 */
async function startPeers(node, asHost) {
  const peers = await startPeerScript({
    node,
    script: join(root, 'scripts', 'demo.ts'),
    args: ['--describe'],
    env: { ...process.env, MCP_OAUTH_DEMO_STATE: state, MCP_OAUTH_DEMO_AS_HOST: asHost },
    name: 'the demo peers',
    hint: '; see the message above',
    output: process.stdout,
  }).catch((err) => {
    throw new DemoError(err.message);
  });
  parts.push({ name: 'the demo peers (scripts/demo.ts)', exited: peers.exited, stop: peers.stop, kill: peers.kill });
  return peers;
}

/** Desktop VS Code: `code --wait` on the repository as the extension under development. */
async function startDesktop(code, described) {
  const userData = join(state, 'vscode-desktop');
  const settingsFile = join(userData, 'User', 'settings.json');
  writeUserSettings(settingsFile, described.settings, { 'workbench.startupEditor': 'readme' });
  const args = [
    '--wait',
    '--new-window',
    `--extensionDevelopmentPath=${root}`,
    '--user-data-dir',
    userData,
    '--disable-workspace-trust',
    workspace,
  ];
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
  const started = Date.now();
  // On Windows `code` is a .cmd script, which needs a shell, and so quoted arguments.
  const win = process.platform === 'win32';
  const child = win
    ? spawn(
        `"${code}"`,
        args.map((a) => `"${a}"`),
        { cwd: workspace, env, stdio: ['ignore', 'inherit', 'inherit'], shell: true },
      )
    : spawn(code, args, { cwd: workspace, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((r) =>
    child.once('exit', (exitCode, signal) => r({ code: exitCode, signal, early: Date.now() - started < 3000 })),
  );
  child.once('error', (err) => {
    say(`could not run ${code}: ${err.message}`);
  });
  /**
   * The pid of this demo's VS Code: its main process writes it to code.lock in its user data folder. Checked
   * against the process's command line (which names that folder), since a stale lock file's pid may be reused.
   */
  const mainPid = () => {
    let pid;
    try {
      pid = Number(readFileSync(join(userData, 'code.lock'), 'utf8'));
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    if (process.platform === 'win32') return pid;
    const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return ps.status === 0 && ps.stdout.includes(userData) ? pid : undefined;
  };
  parts.push({
    name: 'VS Code',
    exited,
    desktop: true,
    async stop() {
      const pid = mainPid();
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      if (child.exitCode === null && child.signalCode === null) {
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        try {
          child.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    },
    kill() {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    },
  });
  return { settingsFile, userData };
}

/** code-server (scripts/codeServer), in the demo's state folder, with the repository linked in as an installed extension. */
async function startCodeServerDemo(setup, described, port) {
  let link;
  const cs = await launch({
    name: 'demo',
    log: say,
    dir: codeServerDir,
    workspace,
    port,
    setup,
    browser: false,
    signals: false, // this script stops everything (see shutdown)
    pidFile: codeServerPidFile,
    prepare: (dirs) => {
      link = linkExtension(dirs.extensions);
      writeUserSettings(dirs.settingsFile, described.settings, {
        'workbench.startupEditor': 'readme',
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
      });
    },
    // The AS's pages open without the "open the external website?" prompt.
    args: ['--link-protection-trusted-domains', described.issuer],
  }).catch((err) => {
    throw new DemoError(err.message);
  });
  parts.push({ name: 'code-server', exited: cs.exited, stop: cs.stop, kill: cs.kill });
  return { url: cs.urls.workbench, settingsFile: cs.dirs.settingsFile, logPath: cs.logs.server, link };
}

async function stopAll() {
  await Promise.allSettled(parts.map((p) => p.stop()));
}

function banner(described, vscode) {
  const pad = Math.max(22, ...described.servers.map((s) => s.name.length + 2));
  const lines = [
    '',
    'MCP OAuth demo: everything runs on loopback.',
    '',
    vscode.url
      ? `  Open  ${vscode.url}\n        (VS Code in the browser: code-server, no password, on 127.0.0.1 only)`
      : '  VS Code opened a window with the extension under development ([Extension Development Host]).',
    '',
    `  Demo login at the authorization server: ${described.login}`,
    '',
    `  ${'Authorization server'.padEnd(pad)}${described.issuer}  (oidc-provider)`,
    ...described.servers.map((s) => `  ${s.name.padEnd(pad)}${s.url}\n  ${''.padEnd(pad)}${s.what}`),
    '',
    '  Try: the MCP OAuth view in the activity bar → Sign In on "Demo: split-domain AS";',
    '       Sign In with Device Code on "Demo: device code";',
    `       MCP: List Servers → a demo server → Start Server${vscode.url ? '' : '; Copilot Chat in agent mode: "use the whoami tool"'}.`,
    '',
    `  Settings:  ${vscode.settingsFile} (mcpOAuth.servers is set at every start; other settings are kept)`,
    ...(vscode.logPath ? [`  Log:       ${vscode.logPath}`] : []),
    '',
    'Sign-ins end with the demo (the authorization server keeps tokens in memory). Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

async function main() {
  const peerBase = portFrom('MCP_OAUTH_DEMO_PORT', 7300, 4);
  const vscodePort = portFrom('MCP_OAUTH_DEMO_VSCODE_PORT', 7400);
  const vscode = chooseVSCode();
  claimState();
  const asHost = await asHostFor(!vscode.code);
  if (!vscode.code) {
    if (vscodePort >= peerBase && vscodePort <= peerBase + 3) {
      throw new DemoError(
        `MCP_OAUTH_DEMO_VSCODE_PORT ${vscodePort} is one of the demo peers' ports (${peerBase}–${peerBase + 3}); choose another`,
      );
    }
    await stopLeftover(join(codeServerDir, 'user-data'));
  }
  await checkPorts([[peerBase, asHost], peerBase + 1, peerBase + 2, peerBase + 3], 'MCP_OAUTH_DEMO_PORT');
  if (!vscode.code) await checkPorts([vscodePort], 'MCP_OAUTH_DEMO_VSCODE_PORT');
  build();

  let setup;
  if (!vscode.code) {
    say(`using code-server (${vscode.reason})`);
    const { ensureVSCodeSetup } = await import('./vscode-setup.mjs');
    try {
      setup = ensureVSCodeSetup({ browser: false });
    } catch (err) {
      throw new DemoError(
        `VS Code in the browser (code-server) could not be set up: ${err.message}\nInstall VS Code and put \`code\` on PATH to use the desktop VS Code instead.`,
      );
    }
  } else {
    say(`using the desktop VS Code at ${vscode.code}`);
  }
  const node = setup?.node24 ?? ensureNode24();

  const described = await startPeers(node, asHost);
  writeWorkspace(described, vscode.code ? 'desktop' : 'code-server');
  const opened = vscode.code
    ? await startDesktop(vscode.code, described)
    : await startCodeServerDemo(setup, described, vscodePort);
  if (stopping) return;
  banner(described, opened);

  for (const part of parts) {
    part.exited.then(async ({ code, signal, early }) => {
      if (stopping) return;
      if (part.desktop && code === 0) {
        if (early) {
          say('the code CLI handed the window over and returned; Ctrl-C stops the demo peers');
          return;
        }
        say('VS Code was closed; stopping the demo');
        await shutdown(0);
        return;
      }
      console.error(`\n[demo] ${part.name} exited unexpectedly (${signal ?? `exit code ${code}`}); stopping the rest`);
      await shutdown(1);
    });
  }
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (stopping) {
      // a second Ctrl-C: no more waiting
      for (const p of parts) p.kill();
      process.exit(130);
    }
    console.log(`\n[demo] ${signal}: stopping VS Code and the demo peers …`);
    void shutdown(0);
  });
}
// Whatever way this process ends, nothing it started outlives it.
process.on('exit', () => {
  for (const p of parts) p.kill();
});

main().catch(async (err) => {
  if (stopping) return; // a signal ended the start-up; shutdown() reports and exits
  console.error(`\n[demo] ${err instanceof DemoError ? err.message : (err?.stack ?? String(err))}`);
  stopping = true;
  await stopAll();
  process.exit(1);
});
