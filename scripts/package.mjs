// `npm run package`: builds mcp-oauth-<version>.vsix with @vscode/vsce, offline. vsce runs the
// `vscode:prepublish` script first (the production build: minified, no sourcemaps). Dependencies are bundled by
// esbuild, so vsce does not walk node_modules (`--no-dependencies`, also set under "vsce" in package.json).
// vsce 4 needs Node 22 or newer: an older Node runs it with the cached Node 24 (scripts/node24.mjs).
// Any vsce warning fails the run, so a warning never reaches the marketplace unnoticed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ensureNode24 } from './node24.mjs';

const { name, version } = JSON.parse(readFileSync('package.json', 'utf8'));
const out = `${name}-${version}.vsix`;

const node = ensureNode24();
const args = ['node_modules/@vscode/vsce/vsce', 'package', '--no-dependencies', '--out', out, ...process.argv.slice(2)];
console.log(`> vsce ${args.slice(1).join(' ')}`);
const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
let output = '';
const forward = (stream) => (chunk) => {
  output += chunk;
  stream.write(chunk);
};
child.stdout.on('data', forward(process.stdout));
child.stderr.on('data', forward(process.stderr));
child.on('close', (code) => {
  if (code !== 0) {
    process.exitCode = code ?? 1;
  } else if (/\bWARNING\b/.test(output)) {
    console.error(`\nvsce printed a warning; fix it (the package is ${out}, but it is not fit to publish).`);
    process.exitCode = 1;
  } else {
    console.log(`\n${out}: packaged with no warnings.`);
  }
});
