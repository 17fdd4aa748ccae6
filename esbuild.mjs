// Bundles the extension and the CLI. `--watch` rebuilds on change; `--production` minifies.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

/**
 * The integration tests' bundle entry, generated: test/integration/index.ts (the `run()` VS Code calls) plus
 * a lazy loader for every `*.test.ts` under test/integration (subfolders too), so a new test file needs no
 * registration. The loaders are `require()`s, which esbuild turns into functions that run a file's top level
 * only when called. `--watch` also rebuilds when a test file is added.
 */
const integrationTests = {
  name: 'integration-tests',
  setup(build) {
    const dir = 'test/integration';
    build.onResolve({ filter: /^integration-tests:entry$/ }, (args) => ({
      path: args.path,
      namespace: 'integration-tests',
    }));
    build.onLoad({ filter: /.*/, namespace: 'integration-tests' }, () => {
      const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
      const files = entries
        .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
        .map((e) =>
          relative('.', join(e.parentPath ?? e.path, e.name))
            .split('\\')
            .join('/'),
        )
        .sort();
      const dirs = [dir, ...entries.filter((e) => e.isDirectory()).map((e) => join(e.parentPath ?? e.path, e.name))];
      const lines = [
        `import { register } from './${dir}/index.ts';`,
        `export { run } from './${dir}/index.ts';`,
        ...files.map((f) => `register(${JSON.stringify(f)}, () => require(${JSON.stringify(`./${f}`)}));`),
      ];
      return { contents: lines.join('\n'), loader: 'js', resolveDir: process.cwd(), watchDirs: dirs };
    });
    // Mocha's parallel mode runs workers from files on disk, so it cannot work bundled; leave it out.
    build.onResolve({ filter: /[\\/]parallel-buffered-runner\.cjs$/ }, (args) => ({
      path: args.path,
      namespace: 'mocha-no-parallel',
    }));
    build.onLoad({ filter: /.*/, namespace: 'mocha-no-parallel' }, () => ({
      contents: 'throw new Error("mocha parallel mode is not available in the bundled integration tests");',
      loader: 'js',
    }));
  },
};

/** The extension loads its heavy half (OAuth core, MCP SDK, gateway) from dist/core.js on first use. */
const lazyCore = {
  name: 'lazy-core',
  setup(build) {
    build.onResolve({ filter: /\/sessionService$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: './core.js', external: true } : undefined,
    );
  },
};

const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension.ts' },
    outdir: 'dist',
    external: ['vscode'],
    plugins: [lazyCore],
  },
  { ...common, entryPoints: { core: 'src/vscode/sessionService.ts' }, outdir: 'dist', external: ['vscode'] },
  { ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  // Test-only: the adapter the MCP conformance suite runs (not shipped; out/ is outside the VSIX).
  { ...common, entryPoints: { 'conformance-client': 'test/conformance/client.ts' }, outdir: 'out', sourcemap: false },
  // Test-only: the suite run inside a real VS Code (extensionTestsPath = out/integration). Mocha is bundled.
  {
    ...common,
    entryPoints: { index: 'integration-tests:entry' },
    outdir: 'out/integration',
    external: ['vscode'],
    sourcemap: 'linked',
    minify: false,
    plugins: [integrationTests],
  },
];

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
