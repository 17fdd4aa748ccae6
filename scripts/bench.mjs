// `npm run bench`: performance side by side, on loopback, against the same real peers, and BENCHMARKS.md.
//   1. cold connect (nothing → first tools/list): ours vs a reference client built only on the MCP SDK
//   2. warm reconnect with a stored token: the requests it makes (no discovery)
//   3. the token gateway's overhead: latency and throughput against direct calls
//   4. activation in the real extension host (code-server), bundle sizes, what loads before the first sign-in
//   5. scale: the tree at 200 servers × 100 tools; the extension host's heap with 50 connected servers
// A script, not a test: it prints a table and writes BENCHMARKS.md; it exits non-zero only when a benchmark
// crashes or brings no results back, never because a target was missed. About two minutes. BENCH_KEEP=1 keeps
// the raw results (JSON) in the temp folder it prints.
//
// The Node benchmarks run under Node >= 22 with tsx (scripts/node24.mjs), their peers in a child process
// (bench/peers.ts). The extension-host part is bench/activation, bundled here to out/bench-activation and run
// as the tests module of scripts/test-integration.mjs (which builds nothing with --no-build: this script
// builds first, as `node esbuild.mjs` does), against a copy of the built extension whose activation events
// leave out onStartupFinished (see extensionCopy).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { ensureNode24 } from './node24.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const log = (message) => console.log(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** The commit, and the source files with uncommitted changes (the numbers are for the working tree as built). */
function sourceState() {
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return { commit: 'unknown (not a git checkout)', modified: [] };
  const status = git('status', '--porcelain', '--', 'src', 'package.json', 'esbuild.mjs');
  return {
    commit: head.stdout.trim(),
    modified: status.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3)),
  };
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** The extension and core bundles as `node esbuild.mjs --production` would build them, into `dir`. */
async function minifiedSizes(dir) {
  const lazyCore = {
    name: 'lazy-core',
    setup(build) {
      build.onResolve({ filter: /\/sessionService$/ }, (args) =>
        args.kind === 'dynamic-import' ? { path: './core.js', external: true } : undefined,
      );
    },
  };
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: false,
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: root,
    external: ['vscode'],
  };
  await esbuild.build({ ...common, entryPoints: { extension: 'src/extension.ts' }, outdir: dir, plugins: [lazyCore] });
  await esbuild.build({ ...common, entryPoints: { core: 'src/vscode/sessionService.ts' }, outdir: dir });
  const extension = readFileSync(join(dir, 'extension.js'));
  return {
    extensionMin: extension.length,
    coreMin: statSync(join(dir, 'core.js')).size,
    extensionMinGzip: gzipSync(extension).length,
  };
}

/**
 * The built extension as the extension host benchmark loads it: a copy of package.json, its nls file, media/
 * and dist/ in `dir`, with `onStartupFinished` left out of the activation events. VS Code otherwise starts
 * activating the extension at startup, racing the bench module, which could then time only what is left of
 * the activation. What activation does is the same code; only who triggers it changes.
 */
function extensionCopy(dir) {
  mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  pkg.activationEvents = (pkg.activationEvents ?? []).filter((event) => event !== 'onStartupFinished');
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  for (const name of ['package.nls.json', 'media', 'dist']) {
    if (existsSync(join(root, name))) cpSync(join(root, name), join(dir, name), { recursive: true });
  }
  return dir;
}

async function main() {
  const node24 = ensureNode24();
  const work = mkdtempSync(join(tmpdir(), 'mcp-oauth-bench-'));
  const loadavgStart = loadavg();

  const source = sourceState();
  log('building (node esbuild.mjs) and bundling bench/activation …');
  if (run(process.execPath, ['esbuild.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] }) !== 0)
    throw new Error('the build failed');
  const benchModule = join(root, 'out', 'bench-activation');
  mkdirSync(benchModule, { recursive: true });
  await esbuild.build({
    entryPoints: { index: join(root, 'bench', 'activation', 'index.ts') },
    outdir: benchModule,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode'],
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  const sizes = {
    extensionDev: statSync(join(root, 'dist', 'extension.js')).size,
    coreDev: statSync(join(root, 'dist', 'core.js')).size,
    ...(await minifiedSizes(join(work, 'production'))),
  };

  log('Node benchmarks (bench/node.ts): cold connect, warm reconnect, gateway, tree model …');
  const nodeResults = join(work, 'node.json');
  if (run(node24, ['--import', 'tsx', join('bench', 'node.ts'), nodeResults]) !== 0 || !existsSync(nodeResults))
    throw new Error('the Node benchmarks failed');

  log('extension-host benchmark (bench/activation through scripts/test-integration.mjs) …');
  const hostResults = join(work, 'host.json');
  const extension = extensionCopy(join(work, 'extension'));
  const launcherExit = run(
    process.execPath,
    [
      join('scripts', 'test-integration.mjs'),
      '--no-build',
      `--extensionDevelopmentPath=${extension}`,
      `--extensionTestsPath=${benchModule}`,
    ],
    {
      env: {
        ...process.env,
        MCP_OAUTH_TEST_BENCH_RESULTS: hostResults,
        MCP_OAUTH_TEST_TIMEOUT_MS: process.env.MCP_OAUTH_TEST_TIMEOUT_MS ?? '300000',
      },
    },
  );
  if (!existsSync(hostResults))
    throw new Error(`the extension-host benchmark brought no results back (the launcher exited with ${launcherExit})`);

  const description = {
    command: 'npm run bench',
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: {
      nproc: availableParallelism(),
      cpuModel: cpuModel(),
      memoryGb: totalmem() / 1024 ** 3,
      nodeForBenches: spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim(),
      nodeForScript: process.version,
      os: `${osType()} ${release()}`,
      loadavgStart,
      loadavgEnd: loadavg(),
    },
    source,
    sizes,
    nodeResults,
    hostResults,
    launcherExit,
    output: join(root, 'BENCHMARKS.md'),
  };
  const descriptionPath = join(work, 'run.json');
  writeFileSync(descriptionPath, JSON.stringify(description, null, 2));
  if (run(node24, ['--import', 'tsx', join('bench', 'report.ts'), descriptionPath]) !== 0)
    throw new Error('the report failed');
  // A benchmark that failed part-way is a crash too (BENCHMARKS.md says which, under "Errors in this run").
  const hostErrors = [hostResults, hostResults.replace(/\.json$/, '.reload.json')]
    .filter((path) => existsSync(path))
    .flatMap((path) => JSON.parse(readFileSync(path, 'utf8')).errors ?? []);
  if (launcherExit !== 0 || hostErrors.length) {
    throw new Error(
      `the extension-host benchmark failed (launcher exit ${launcherExit}): ${hostErrors.map((e) => e.split('\n')[0]).join('; ') || 'see its output above'}; files kept in ${work}`,
    );
  }
  if (process.env.BENCH_KEEP === '1')
    log(`results kept in ${work} (re-render: ${node24} --import tsx bench/report.ts ${descriptionPath})`);
  else rmSync(work, { recursive: true, force: true });
  log('done');
}

main().catch((error) => {
  console.error(`[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
