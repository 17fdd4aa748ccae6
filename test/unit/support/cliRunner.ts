// Runs the built CLI (dist/cli.js) as a child process, building it first when it is missing or older
// than the sources.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(REPO, 'dist', 'cli.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const builtAt = (): number => {
  try {
    return statSync(CLI).mtimeMs;
  } catch {
    return 0;
  }
};

/** What dist/cli.js is bundled from (src/vscode is the extension's only). */
const CLI_SOURCES = ['src/cli', 'src/oauth', 'src/mcp', 'src/platform', 'media'];

/**
 * `node esbuild.mjs` when dist/cli.js is missing or older than its sources. That script builds the extension
 * too; should it fail (say, extension code half-way through a change), the CLI entry alone is built with the
 * same esbuild options, so that the CLI tests still test the current CLI.
 */
export function ensureCliBuilt(): void {
  const newest = Math.max(...CLI_SOURCES.map((dir) => newestMtime(path.join(REPO, dir))));
  if (builtAt() > newest) return;
  try {
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: REPO, stdio: 'pipe' });
  } catch {
    buildSync({
      absWorkingDir: REPO,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'linked',
      legalComments: 'none',
      logLevel: 'silent',
      entryPoints: { cli: 'src/cli/main.ts' },
      outdir: 'dist',
      banner: { js: '#!/usr/bin/env node' },
    });
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/cli.js ...args` with `env` on top of this process's environment; kills it after `timeoutMs`. */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  input?: string,
  timeoutMs = 15_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mcp-oauth ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}
