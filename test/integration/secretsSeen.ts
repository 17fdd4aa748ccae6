import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Adds token values to the list the launcher searches the logs, settings and state for after the run
 * (MCP_OAUTH_TEST_SECRETS): each test file adds what it saw, whatever order the files run in.
 */
export function recordSecrets(values: Iterable<string>): void {
  const file = process.env.MCP_OAUTH_TEST_SECRETS;
  if (!file) return;
  const known = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as string[]) : [];
  writeFileSync(file, JSON.stringify([...new Set([...known, ...values])]));
}
