// Runs the integration tests (test/integration → out/integration) through @vscode/test-electron's
// `runTests`, the launcher for machines that can run desktop VS Code. Same suite, same `run()` contract and
// same closing `N passed, N failed` line as the offline code-server launcher (scripts/test-integration.mjs,
// the default, used by `npm test` and CI).
//
//   node scripts/test-electron.mjs                 download desktop VS Code (once, into .vscode-test/) and run
//   VSCODE_EXECUTABLE_PATH=/path/to/code node scripts/test-electron.mjs    use an installed VS Code instead
//   node scripts/test-electron.mjs --code-server   no VS Code download: runTests starts this script as its
//                                                  "VS Code executable", which runs the suite with the
//                                                  code-server launcher (what works offline, as here)
//
// Without VSCODE_EXECUTABLE_PATH and without --code-server, runTests downloads VS Code from
// update.code.visualstudio.com; with no network (or no route to it) that fails, so use --code-server or
// `npm run test:integration`. Desktop VS Code on Linux needs a display: run under `xvfb-run -a` on a headless box.
// MCP_OAUTH_VSCODE_VERSION picks the downloaded version ('stable' by default, 'insiders', or e.g. '1.101.0').
// MCP_OAUTH_TEST_SETTINGS and the other MCP_OAUTH_TEST_* variables work as in scripts/test-integration.mjs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, reportResults, runIntegrationAndExit, userSettings } from './test-integration.mjs';

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), '..');
const SHIM = '--code-server-shim';

/**
 * As runTests' "VS Code executable": picks the two paths out of VS Code's argv and runs them in code-server,
 * through the code-server launcher of scripts/test-integration.mjs, in this process.
 */
function shim(argv) {
  const value = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const devPath = value('extensionDevelopmentPath');
  const testsPath = value('extensionTestsPath');
  if (!devPath || !testsPath) {
    console.error(
      `[test-electron] shim: expected --extensionDevelopmentPath= and --extensionTestsPath= in ${argv.join(' ')}`,
    );
    process.exit(2);
  }
  runIntegrationAndExit({ ...parseArgs(['--no-build']), devPath: resolve(devPath), testsPath: resolve(testsPath) });
}

async function main(argv) {
  const viaCodeServer = argv.includes('--code-server');
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');

  const tmp = mkdtempSync(join(tmpdir(), 'mcp-oauth-electron-'));
  const userData = join(tmp, 'user-data');
  const workspace = join(tmp, 'workspace');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(userSettings(), null, 2) + '\n');
  const resultsPath = resolve(process.env.MCP_OAUTH_TEST_RESULTS || join(tmp, 'results.json'));
  rmSync(resultsPath, { force: true });

  const { runTests } = await import('@vscode/test-electron');
  const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE_PATH || (viaCodeServer ? process.execPath : undefined);
  const launchArgs =
    viaCodeServer && !process.env.VSCODE_EXECUTABLE_PATH
      ? [self, SHIM] // node <this file> --code-server-shim <VS Code's usual argv>
      : [
          workspace,
          `--user-data-dir=${userData}`,
          `--extensions-dir=${join(tmp, 'extensions')}`,
          '--disable-extensions',
        ];
  let failedRun;
  try {
    await runTests({
      ...(vscodeExecutablePath
        ? { vscodeExecutablePath }
        : { version: process.env.MCP_OAUTH_VSCODE_VERSION || 'stable' }),
      extensionDevelopmentPath: root,
      extensionTestsPath: join(root, 'out', 'integration'),
      launchArgs,
      extensionTestsEnv: {
        MCP_OAUTH_TEST_RESULTS: resultsPath,
        MCP_OAUTH_TEST_WORKSPACE: workspace,
        MCP_OAUTH_HOME: join(tmp, 'mcp-oauth-home'),
      },
    });
  } catch (err) {
    failedRun = err instanceof Error ? err.message : String(err);
  }
  // Through code-server, its launcher has listed the tests already.
  const counts = reportResults(resultsPath, { print: !(viaCodeServer && !process.env.VSCODE_EXECUTABLE_PATH) });
  let { passed = 0, failed = 0 } = counts ?? {};
  if (!counts) console.log('[test-electron] no results came back from the extension host');
  if (failedRun) console.log(`[test-electron] runTests failed: ${failedRun}`);
  if (failedRun && !vscodeExecutablePath) {
    console.log(
      '[test-electron] downloading VS Code needs update.code.visualstudio.com; offline, use `--code-server`, ' +
        'VSCODE_EXECUTABLE_PATH=<installed VS Code>, or `npm run test:integration`',
    );
  }
  if ((failedRun || !counts || counts.total === 0) && failed === 0) failed = 1;
  if (failed) console.log(`[test-electron] kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (process.argv[2] === SHIM) {
  shim(process.argv.slice(3));
} else {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[test-electron] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
}
