import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Opens a URL in the user's browser: with the command(s) in `$BROWSER` when that is set, else with the
 * platform opener. Nothing goes through a shell, so the URL cannot inject a command.
 */
export interface OpenBrowserOptions {
  readonly platform?: NodeJS.Platform;
  /** Injected by tests. */
  readonly spawn?: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
}

/**
 * Resolves `true` once an opener has started (it is detached and not waited for), `false` when none could
 * start or the URL is not http(s); never throws. On `false`, the caller prints the URL for the user.
 */
export async function openBrowser(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  options: OpenBrowserOptions = {},
): Promise<boolean> {
  if (!isWebUrl(url)) return false;
  const spawn = options.spawn ?? nodeSpawn;
  for (const [command, ...args] of browserCommands(url, env, options.platform ?? process.platform)) {
    if (command !== undefined && (await launch(spawn, command, args))) return true;
  }
  return false;
}

/**
 * The commands to try, in order. `$BROWSER` follows the usual convention: a list separated by the path
 * delimiter, each entry a command in which `%s` stands for the URL (`%%` for a percent sign) and, without
 * `%s`, the URL is appended as the last argument.
 */
export function browserCommands(url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string[][] {
  const fromEnv = env.BROWSER?.trim();
  if (fromEnv) {
    return fromEnv
      .split(platform === 'win32' ? ';' : ':')
      .map((entry) => withUrl(splitCommand(entry, platform), url))
      .filter((argv) => argv.length > 1);
  }
  switch (platform) {
    case 'darwin':
      return [['open', url]];
    case 'win32':
      // Not `cmd /c start`: cmd would parse the URL's `&` and `%`.
      return [['rundll32', 'url.dll,FileProtocolHandler', url]];
    default:
      return [['xdg-open', url]];
  }
}

function withUrl(words: string[], url: string): string[] {
  if (words.length === 0) return [];
  let substituted = false;
  const argv = words.map((word) =>
    word.replace(/%[s%]/g, (match) => {
      if (match === '%%') return '%';
      substituted = true;
      return url;
    }),
  );
  return substituted ? argv : [...argv, url];
}

/**
 * Splits a command line into words: blanks separate, '…' and "…" quote, and outside Windows a backslash
 * escapes the next character (on Windows it is a path separator).
 */
function splitCommand(command: string, platform: NodeJS.Platform): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && platform !== 'win32' && i + 1 < command.length) word += command[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && platform !== 'win32' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function launch(spawn: NonNullable<OpenBrowserOptions['spawn']>, command: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, { detached: true, stdio: 'ignore', windowsHide: true, shell: false });
    } catch {
      resolve(false);
      return;
    }
    child.on('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

function isWebUrl(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { protocol } = new URL(url);
  return protocol === 'https:' || protocol === 'http:';
}
