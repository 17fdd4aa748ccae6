// The README's test command. Builds, type-checks and lints, then runs every suite that applies here and
// prints one closing line, `N passed, N failed`. `node scripts/test.mjs unit|conformance|integration` runs one
// suite. The integration tests run in a real VS Code (scripts/test-integration.mjs: code-server and headless
// Chromium, set up on first use into ~/.cache/mcp-oauth), and so do the `npm start` smoke test and the real-UI
// run of the packaged VSIX (test/ui/run.ts); MCP_OAUTH_SKIP_INTEGRATION=1 skips them, and so does a machine
// that cannot set them up (not Linux x64, or no root for apt) unless CI=true, where they always run.
import { spawn } from 'node:child_process';
import { ensureNode24 } from './node24.mjs';
import { canSetUp } from './vscode-setup.mjs';

const only = process.argv[2];
const results = [];
const skipped = [];

function run(label, cmd, args, parse, env = {}) {
  return new Promise((resolve) => {
    console.log(`\n=== ${label}: ${[cmd, ...args].join(' ')}`);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => {
      const counts = parse ? parse(out) : { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 };
      if (code !== 0 && counts.failed === 0) counts.failed = 1; // a crash counts as a failure
      results.push({ label, ...counts });
      resolve();
    });
  });
}

const mochaCounts = (out) => ({
  passed: Number(/(\d+) passing/.exec(out)?.[1] ?? 0),
  failed: Number(/(\d+) failing/.exec(out)?.[1] ?? 0),
});
/** Counted in scenarios, not checks: how many checks a scenario makes depends on the client. */
const conformanceCounts = (out) => {
  const m = /Scenarios: (\d+) passed, (\d+) failed/.exec(out);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : { passed: 0, failed: 1 };
};

/** The launcher's closing line; without one the run counts as a failure. */
const integrationCounts = (out) => {
  const m = [...out.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : { passed: 0, failed: 1 };
};

const node24 = ensureNode24();
const npx = (bin) => `node_modules/.bin/${bin}`;

if (!only) {
  await run('build', process.execPath, ['esbuild.mjs']);
  await run('typecheck', npx('tsc'), ['-p', '.', '--noEmit']);
  await run('lint', npx('eslint'), ['.']);
  await run('format (prettier --check; `npm run format` fixes it)', npx('prettier'), ['--check', '.']);
} else {
  await run('build', process.execPath, ['esbuild.mjs']);
}
if (!only || only === 'unit') {
  await run('unit tests', node24, ['node_modules/mocha/bin/mocha.js'], mochaCounts);
}
if (!only || only === 'integration') {
  const label = 'integration tests (real VS Code via code-server)';
  const smoke = 'npm start smoke test (code-server)';
  const ui = 'real UI end to end: the packaged VSIX in code-server, driven by Chromium (test/ui)';
  const possible = process.env.CI === 'true' ? { ok: true } : canSetUp();
  if (process.env.MCP_OAUTH_SKIP_INTEGRATION === '1') {
    skipped.push(
      { label, reason: 'MCP_OAUTH_SKIP_INTEGRATION=1' },
      { label: smoke, reason: 'MCP_OAUTH_SKIP_INTEGRATION=1' },
      { label: ui, reason: 'MCP_OAUTH_SKIP_INTEGRATION=1' },
    );
  } else if (!possible.ok) {
    skipped.push(
      { label, reason: `${possible.reason}; \`npm run test:electron\` runs them in desktop VS Code` },
      { label: smoke, reason: possible.reason },
      { label: ui, reason: possible.reason },
    );
  } else {
    await run(label, process.execPath, ['scripts/test-integration.mjs', '--no-build'], integrationCounts);
    await run(smoke, process.execPath, ['scripts/start-smoke.mjs'], integrationCounts);
    await run(ui, process.execPath, ['--import', 'tsx', 'test/ui/run.ts'], integrationCounts);
  }
  for (const s of skipped) console.log(`\n=== ${s.label}: skipped (${s.reason})`);
}
if (!only || only === 'conformance') {
  // `--suite auth` is the bar; the back-compat, draft and client-credentials scenarios hold us to more.
  const conformance = [
    ['auth suite', { CONFORMANCE_SUITE: 'auth' }],
    ['2025-03-26 back-compat', { CONFORMANCE_SUITE: 'backcompat' }],
    ['draft', { CONFORMANCE_SUITE: 'draft' }],
    ['client credentials (basic)', { CONFORMANCE_SCENARIO: 'auth/client-credentials-basic' }],
    ['client credentials (private_key_jwt)', { CONFORMANCE_SCENARIO: 'auth/client-credentials-jwt' }],
  ];
  for (const [label, env] of conformance) {
    await run(`MCP conformance: ${label}`, node24, ['test/conformance/run.mjs', node24], conformanceCounts, env);
  }
}

console.log('\n=== summary');
for (const r of results)
  console.log(`${r.failed ? 'FAIL' : 'ok  '} ${r.label}: ${r.passed} passed, ${r.failed} failed`);
for (const s of skipped) console.log(`skip ${s.label}: skipped (${s.reason})`);
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
