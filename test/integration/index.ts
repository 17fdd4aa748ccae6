/**
 * The tests module for a real VS Code (the `extensionTestsPath` contract of `@vscode/test-electron`): VS Code
 * loads it in the extension host, calls `run()` and ends the run when the promise settles, reporting failure
 * when it rejects. Both launchers use it: scripts/test-integration.mjs (code-server, offline) and
 * scripts/test-electron.mjs (desktop VS Code).
 *
 * esbuild.mjs bundles this file with every test/integration/**\/*.test.ts into out/integration/index.js. Its
 * generated entry calls `register()` once per test file, in path order, before VS Code calls `run()`; the
 * test files themselves only run inside `run()`, after mocha has defined `describe`/`it`.
 *
 * Environment (the launchers pass it through to the extension host):
 * - MCP_OAUTH_TEST_RESULTS: where to write the results as JSON. The launcher reads them from there, because
 *   the extension host may exit before its last console lines reach the launcher.
 * - MCP_OAUTH_TEST_GREP: run only the tests whose full title matches this regular expression.
 * - MCP_OAUTH_TEST_MOCHA_TIMEOUT_MS: the per-test timeout (default 60 s).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

/** One test or failed hook in the results file. */
export interface TestResult {
  readonly title: string;
  readonly file: string | undefined;
  readonly state: 'passed' | 'failed' | 'pending';
  readonly durationMs: number | undefined;
  readonly error?: string;
}

/** The results file's shape; scripts/test-integration.mjs reads it. */
export interface TestResults {
  readonly passes: number;
  readonly failures: number;
  readonly pending: number;
  readonly durationMs: number;
  readonly vscodeVersion: string;
  readonly tests: readonly TestResult[];
  /** Set when the run could not start or a test file failed to load. */
  readonly error?: string;
}

const testFiles: { file: string; load: () => unknown }[] = [];

/** Called by the bundle's generated entry for each test file; `load` runs the file's top level. */
export function register(file: string, load: () => unknown): void {
  testFiles.push({ file, load });
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

function writeResults(results: TestResults): void {
  const out = process.env.MCP_OAUTH_TEST_RESULTS;
  if (!out) return;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2));
}

export async function run(): Promise<void> {
  const started = Date.now();
  const version = vscode.version;
  const fail = (error: string): never => {
    writeResults({
      passes: 0,
      failures: 1,
      pending: 0,
      durationMs: Date.now() - started,
      vscodeVersion: version,
      tests: [],
      error,
    });
    console.error(`[integration] ${error}`);
    throw new Error(error);
  };
  if (testFiles.length === 0)
    fail('No test files registered: build the tests with `node esbuild.mjs` (out/integration/index.js).');

  // The code-server launcher runs the suite in phases: the main run; after a window reload (the same profile)
  // only the tests titled "after a reload"; in a second code-server whose workspace is untrusted, only those
  // titled "in Restricted Mode". Without a phase file (other launchers), only the main run's tests run.
  const phaseFile = process.env.MCP_OAUTH_TEST_PHASE_FILE;
  const phase = phaseFile && existsSync(phaseFile) ? readFileSync(phaseFile, 'utf8').trim() : '1';
  const grep = process.env.MCP_OAUTH_TEST_GREP;
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    timeout: Number(process.env.MCP_OAUTH_TEST_MOCHA_TIMEOUT_MS) || 60_000,
    reporter: LineReporter,
    ...(grep
      ? { grep: new RegExp(grep) }
      : phase === '2'
        ? { grep: /after a reload/ }
        : phase === '3'
          ? { grep: /in Restricted Mode/ }
          : { grep: /after a reload|in Restricted Mode/, invert: true }),
  });

  // What `mocha.loadFiles()` does for files on disk, for the bundled ones.
  for (const { file, load } of testFiles) {
    mocha.suite.emit('pre-require', globalThis, file, mocha);
    try {
      mocha.suite.emit('require', load(), file, mocha);
    } catch (err) {
      fail(`Loading ${file} failed: ${describeError(err)}`);
    }
    mocha.suite.emit('post-require', globalThis, file, mocha);
  }

  console.log(`[integration] VS Code ${version}, ${testFiles.length} test file(s)`);
  const tests: TestResult[] = [];
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    const fileOf = (t: Mocha.Runnable): string | undefined => t.file;
    runner.on('pass', (t) =>
      tests.push({ title: t.fullTitle(), file: fileOf(t), state: 'passed', durationMs: t.duration }),
    );
    runner.on('pending', (t) =>
      tests.push({ title: t.fullTitle(), file: fileOf(t), state: 'pending', durationMs: undefined }),
    );
    runner.on('fail', (t, err) =>
      tests.push({
        title: t.fullTitle(),
        file: fileOf(t),
        state: 'failed',
        durationMs: t.duration,
        error: describeError(err),
      }),
    );
  });
  const passes = tests.filter((t) => t.state === 'passed').length;
  const pending = tests.filter((t) => t.state === 'pending').length;
  writeResults({ passes, failures, pending, durationMs: Date.now() - started, vscodeVersion: version, tests });
  console.log(`${passes} passed, ${failures} failed`);
  if (failures > 0) throw new Error(`${failures} integration test(s) failed.`);
}

/** Prints one line per test to the extension host's console (the launchers keep it in a log). */
class LineReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.on('pass', (t) => console.log(`  ok   ${t.fullTitle()} (${t.duration ?? 0} ms)`));
    runner.on('pending', (t) => console.log(`  skip ${t.fullTitle()}`));
    runner.on('fail', (t, err) => console.log(`  FAIL ${t.fullTitle()}\n${describeError(err)}`));
  }
}
