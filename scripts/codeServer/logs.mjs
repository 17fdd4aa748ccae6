// Reading what a run left behind: log tails for a failure report, the extension's output channel, and the
// scan for token values in the logs, settings and state.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The last `lines` lines of `text`. */
export const lastLines = (text, lines) => text.trimEnd().split('\n').slice(-lines).join('\n');

/** The last `lines` lines of a log file, for a failure report. */
export function tail(file, lines) {
  if (!existsSync(file)) return `(no ${file})`;
  return lastLines(readFileSync(file, 'utf8'), lines);
}

/** The first file called `name` under `dir`, depth first (the output channel's log in a user-data folder). */
export function findFile(dir, name) {
  if (!existsSync(dir)) return undefined;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isFile() && e.name === name) return p;
    if (e.isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Every file under `roots` that contains one of the secret values recorded (as a JSON array) in `secretsPath`;
 * undefined when none were recorded.
 * @param {string} secretsPath
 * @param {string[]} roots
 * @returns {string[] | undefined}
 */
export function scanForSecrets(secretsPath, roots) {
  if (!existsSync(secretsPath)) return undefined;
  const secrets = [...new Set(JSON.parse(readFileSync(secretsPath, 'utf8')))].filter(
    (s) => typeof s === 'string' && s.length >= 8,
  );
  if (!secrets.length) return undefined;
  const found = [];
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
      return;
    }
    if (!stat.isFile() || stat.size > 50 * 1024 * 1024) return; // sockets and pipes are not files to read
    let text;
    try {
      text = readFileSync(path).toString('latin1');
    } catch {
      return;
    }
    if (secrets.some((secret) => text.includes(secret))) found.push(path);
  };
  for (const root of roots) visit(root);
  return found;
}
