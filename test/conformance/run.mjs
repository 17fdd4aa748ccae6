// Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against our client.
//
//   node test/conformance/run.mjs <node24-path>
//
// The suite needs Node >= 22, so the runner and the client under test are started with <node24-path>.
// By default the client under test is `<node24-path> <repo>/out/conformance-client.js`; the suite appends the
// scenario's server URL as the last argument. Environment overrides:
//   CONFORMANCE_CLIENT    the whole client command instead (e.g. "node /tmp/ref/client.mjs"). The suite splits
//                         it on spaces and runs it through a shell, so shell-quote paths that contain spaces.
//                         run.mjs prefixes it with `exec` (unless it has ; & or |) so the suite's timeout works.
//   CONFORMANCE_SUITE     suite to run (default "auth"; also all, core, extensions, backcompat, metadata, draft, sep-835)
//   CONFORMANCE_SCENARIO  run one scenario instead of a suite (e.g. "auth/scope-step-up")
//   CONFORMANCE_TIMEOUT   per-scenario client timeout in ms (default 30000)
//   CONFORMANCE_STRICT=1  also exit non-zero when there are warnings (the suite itself does)
//   CONFORMANCE_KEEP=1    keep the results folder even when everything passed
// Per-scenario results (checks.json, client stdout.txt/stderr.txt) go to a fresh folder under the OS temp dir;
// it is removed after a clean run (no failures, no warnings) unless CONFORMANCE_KEEP=1.
//
// The last line printed on stdout is always `Total: N passed, M failed, K warnings`. The exit code is non-zero
// when any check failed or when the suite did not run to its summary (crash, missing client, watchdog).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const node24 = process.argv[2] || process.env.NODE24 || process.execPath;
const suiteCli = join(repo, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const clientEntry = join(repo, 'out', 'conformance-client.js');
const timeoutMs = Number(process.env.CONFORMANCE_TIMEOUT || 30000);
const strict = process.env.CONFORMANCE_STRICT === '1';

// The suite does `command.split(' ')`, appends the URL, and hands the pieces to a shell joined by spaces, so
// single-quoting a path with spaces survives the round trip.
const shq = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
// `exec` makes the shell replace itself with the client: the suite's timeout kills the shell's pid, so without
// it (with dash as /bin/sh) a hung client survives the timeout and the whole suite waits for it forever.
const withExec = (cmd) => (/^\s*exec\s/.test(cmd) || /[;&|]/.test(cmd) ? cmd : `exec ${cmd.trim()}`);
const clientCommand = withExec(process.env.CONFORMANCE_CLIENT || `${shq(node24)} ${shq(clientEntry)}`);

function finish(passed, failed, warnings, code) {
  console.log(`Total: ${passed} passed, ${failed} failed, ${warnings} warnings`);
  process.exit(code);
}

if (!existsSync(node24)) {
  console.error(`run.mjs: Node binary not found: ${node24}`);
  finish(0, 1, 0, 2);
}
if (!existsSync(suiteCli)) {
  console.error(`run.mjs: conformance suite not installed: ${suiteCli}`);
  finish(0, 1, 0, 2);
}
if (!process.env.CONFORMANCE_CLIENT && !existsSync(clientEntry)) {
  console.error(`run.mjs: ${relative(repo, clientEntry)} does not exist; build it first (or set CONFORMANCE_CLIENT).`);
  finish(0, 1, 0, 2);
}

const outDir = mkdtempSync(join(tmpdir(), 'mcp-oauth-conformance-'));
const target = process.env.CONFORMANCE_SCENARIO
  ? ['--scenario', process.env.CONFORMANCE_SCENARIO]
  : ['--suite', process.env.CONFORMANCE_SUITE || 'auth'];
const args = [suiteCli, 'client', '--command', clientCommand, ...target, '--timeout', String(timeoutMs), '-o', outDir];
if (!process.env.CONFORMANCE_SCENARIO) args.push('--verbose'); // suite mode: lists failed checks per scenario

console.log(`conformance: ${target.join(' ')} | client: ${clientCommand} | results: ${outDir}`);
const started = Date.now();
// Own process group: the suite runs each client through `sh -c`, and when it times a client out it kills only
// that shell. A client that ignores the timeout then lives on (and keeps the suite waiting on its pipes), so
// the watchdog and the exit path below kill the whole group.
const child = spawn(node24, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: process.env, detached: true });
const killGroup = (sig) => {
  try {
    process.kill(-child.pid, sig);
  } catch {
    /* already gone */
  }
};
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    killGroup('SIGKILL');
    process.exit(130);
  });
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.stderr.on('data', (d) => process.stderr.write(d));

// Scenarios run in parallel, each bounded by the client timeout; anything far beyond that is a hang.
const watchdogMs = timeoutMs + 90_000;
let watchdogFired = false;
const watchdog = setTimeout(() => {
  watchdogFired = true;
  killGroup('SIGKILL');
}, watchdogMs);

const { code, signal } = await new Promise((res) => child.on('close', (code, signal) => res({ code, signal })));
clearTimeout(watchdog);
killGroup('SIGKILL'); // leftover clients the suite gave up on
const seconds = ((Date.now() - started) / 1000).toFixed(1);

// A compact list of every non-passing check, read from checks.json (the suite's own --verbose output omits
// warnings, and in single-scenario mode prints its summary on stderr).
const totals = { passed: 0, failed: 0, warnings: 0 };
const scenarios = { passed: 0, failed: 0 };
const problems = [];
for (const file of walk(outDir)
  .filter((f) => f.endsWith('checks.json'))
  .sort()) {
  let checks;
  try {
    checks = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    continue;
  }
  const dir = dirname(file);
  const scenario = relative(outDir, dir).replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, '');
  const bad = [];
  for (const c of checks) {
    if (c.status === 'SUCCESS') totals.passed++;
    if (c.status === 'FAILURE') totals.failed++;
    if (c.status === 'WARNING') totals.warnings++;
    if (c.status === 'FAILURE' || c.status === 'WARNING') {
      bad.push(`    ${c.status.padEnd(7)} [${c.id}] ${c.description}${c.errorMessage ? ` — ${c.errorMessage}` : ''}`);
    }
  }
  if (bad.length) problems.push(`  ${scenario} (client stderr: ${join(dir, 'stderr.txt')})`, ...bad);
  if (checks.some((c) => c.status === 'FAILURE')) scenarios.failed++;
  else scenarios.passed++;
}
if (problems.length) console.log(`\nNon-passing checks:\n${problems.join('\n')}`);

const m = /Total: (\d+) passed, (\d+) failed, (\d+) warnings/.exec(out);
let passed = m ? Number(m[1]) : totals.passed;
let failed = m ? Number(m[2]) : totals.failed;
const warnings = m ? Number(m[3]) : totals.warnings;
let crashed = watchdogFired || signal !== null || (code !== 0 && code !== 1);
if (process.env.CONFORMANCE_SCENARIO) {
  if (!hasChecks(outDir)) crashed = true; // the scenario never produced results
} else {
  if (!m)
    crashed = true; // the suite never printed its summary
  else if (code !== 0 && failed === 0 && warnings === 0) crashed = true; // exit 1 without failures: runner error
}
if (watchdogFired) console.error(`run.mjs: suite still running after ${watchdogMs / 1000}s; killed`);
if (crashed) {
  console.error(`run.mjs: the conformance suite did not complete normally (exit ${signal ?? code})`);
  if (failed === 0) failed = 1;
}
const bad = failed > 0 || crashed || (strict && warnings > 0);
const keep = process.env.CONFORMANCE_KEEP === '1' || failed > 0 || warnings > 0 || crashed;
if (!keep) rmSync(outDir, { recursive: true, force: true });
// One line per run that counts scenarios (the Total line counts checks, which vary with the client).
console.log(
  `Scenarios: ${scenarios.passed} passed, ${scenarios.failed + (crashed && scenarios.failed === 0 ? 1 : 0)} failed`,
);
console.log(
  `\nconformance finished in ${seconds}s (exit ${signal ?? code}); results ${keep ? `in ${outDir}` : 'removed (CONFORMANCE_KEEP=1 keeps them)'}`,
);
finish(passed, failed, warnings, bad ? 1 : 0);

function walk(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files.push(...walk(p));
    else files.push(p);
  }
  return files;
}

function hasChecks(dir) {
  return walk(dir).some((f) => f.endsWith('checks.json'));
}
