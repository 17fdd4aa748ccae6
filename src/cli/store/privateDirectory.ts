import { promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { McpOAuthError } from '../../oauth/errors';
import { processIsGone } from './processes';

/**
 * The checks that keep a state directory private on a machine shared with other users, before a store
 * reads or writes in it. The first two apply where files have owners and mode bits: not on Windows, where
 * the directory is in the user's profile, which its ACL keeps to the user, and `process.getuid` is missing.
 *
 * - The directory is created 0700. An existing one must be yours: one of another user is refused. One of
 *   yours that other users have any access to is set to 0700, and `notify` says so (or it is refused, should
 *   that fail); what others may have put in it meanwhile is checked file by file as it is read.
 * - Nobody else may be able to change what the path leads to. A symbolic link on the way (the directory
 *   itself included) is followed only when it is yours or root's, for another user could point theirs
 *   elsewhere at any moment; and every directory from `/` down to the state directory's parent must be yours
 *   or root's and not writable by others (unless sticky, as /tmp is), for whoever can write to a parent can
 *   swap the state directory for their own. Write access for your own primary group passes: with a umask of
 *   002, that is how directories are made where each user has a group of their own (Fedora, RHEL). The
 *   stores then work in the resolved directory, so that a link changed after the check leads nowhere new.
 *   This is close to the rule OpenSSH applies to `~/.ssh`, and needs no exception for `$MCP_OAUTH_HOME`,
 *   which may well be a link of the user's own; a link of someone else's is what must not be followed.
 * - Temporary files left by a writer that was killed between writing and renaming (they hold the tokens)
 *   are deleted: those of a process that is gone, and any older than {@link LEFTOVER_AGE_MS}.
 */
export interface PrivateDirectory {
  /** The directory with every symbolic link resolved; where the files are opened. */
  readonly realPath: string;
}

/** A write takes milliseconds; a temporary file this old belongs to no write still under way. */
export const LEFTOVER_AGE_MS = 60_000;

const DIR_MODE = 0o700;

/** The name JsonFileStore gives a temporary file: `.<file>.<pid>.<uuid>.tmp`. */
export function temporaryName(file: string, pid: number, uuid: string): string {
  return `.${file}.${pid}.${uuid}.tmp`;
}
const TEMPORARY_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/** Each directory is checked once per process; stores that share it share the check (and its one notice). */
const checked = new Map<string, Promise<PrivateDirectory>>();

/**
 * Checks `dir` (see above), creating it first when `create` is set. Resolves `undefined` when it does not
 * exist and `create` is not set: there is nothing to read.
 */
export async function privateDirectory(
  dir: string,
  options: { readonly create: boolean; readonly notify: (message: string) => void },
): Promise<PrivateDirectory | undefined> {
  if (options.create) {
    let created: string | undefined;
    try {
      created = await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
    } catch (error) {
      throw storageError(
        `Could not create the directory ${dir} (${errnoCode(error)}). Check that you may write to its parent.`,
        error,
      );
    }
    if (created !== undefined) checked.delete(dir); // it was gone: check the new one
  }
  const known = checked.get(dir);
  if (known) return known;
  if (!options.create && !(await fs.lstat(dir).catch(() => undefined))) return undefined;
  const check = checkDirectory(dir, options.notify);
  checked.set(dir, check);
  check.catch(() => checked.delete(dir));
  return check;
}

async function checkDirectory(dir: string, notify: (message: string) => void): Promise<PrivateDirectory> {
  const uid = process.getuid?.();
  const realPath = uid === undefined ? dir : await checkOwnership(dir, uid, notify);
  await sweepLeftovers(realPath);
  return { realPath };
}

/** The POSIX part: owners, modes and links (see {@link PrivateDirectory}). Resolves with the real path. */
async function checkOwnership(dir: string, uid: number, notify: (message: string) => void): Promise<string> {
  const trusted = (owner: number) => owner === uid || owner === 0;
  const gid = process.getgid?.();
  const othersMayWrite = ({ mode, gid: group }: Stats) =>
    (mode & 0o1000) === 0 && ((mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && group !== gid));
  for (const component of ancestry(dir)) {
    const link = await lstat(component);
    if (link.isSymbolicLink() && !trusted(link.uid)) {
      throw storageError(
        `${component} is a symbolic link that belongs to another user (uid ${link.uid}), who could point it anywhere, so mcp-oauth keeps no state through it. Set MCP_OAUTH_HOME to a directory of your own.`,
      );
    }
  }
  const realPath = await fs.realpath(dir).catch((error: unknown) => {
    throw storageError(`Could not resolve ${dir} (${errnoCode(error)}).`, error);
  });
  for (const parent of ancestry(realPath).slice(0, -1)) {
    const stat = await lstat(parent);
    if (!trusted(stat.uid)) {
      throw storageError(
        `${parent} belongs to another user (uid ${stat.uid}), who could replace the state directory ${dir} inside it. Set MCP_OAUTH_HOME to a directory whose parents belong to you or root.`,
      );
    }
    if (othersMayWrite(stat)) {
      throw storageError(
        `${parent} can be written by other users (mode ${octal(stat.mode)}, group ${stat.gid}), who could replace the state directory ${dir} inside it. Run chmod go-w ${parent}, or set MCP_OAUTH_HOME to another directory.`,
      );
    }
  }
  const stat = await lstat(realPath);
  if (!stat.isDirectory()) {
    throw storageError(`${dir} is not a directory. Move it away, or set MCP_OAUTH_HOME to a directory of your own.`);
  }
  if (stat.uid !== uid) {
    throw storageError(
      `The state directory ${dir} belongs to another user (uid ${stat.uid}), so mcp-oauth will not keep tokens in it. Remove it if you may, or set MCP_OAUTH_HOME to a directory of your own.`,
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    try {
      await fs.chmod(realPath, DIR_MODE);
    } catch (error) {
      throw storageError(
        `The state directory ${dir} can be reached by other users (mode ${octal(stat.mode)}) and could not be made private (${errnoCode(error)}). Run chmod 700 ${dir}.`,
        error,
      );
    }
    notify(
      `The state directory ${dir} could be reached by other users (mode ${octal(stat.mode)}); it is now 0700. Files in it that others could have changed are refused when read.`,
    );
  }
  return realPath;
}

/** Deletes the temporary files of writers that were killed before renaming them (see {@link temporaryName}). */
async function sweepLeftovers(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = TEMPORARY_NAME.exec(name)?.[1];
    if (pid === undefined) continue;
    const file = path.join(dir, name);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat || stat.isDirectory()) continue;
    if (processIsGone(Number(pid)) || Date.now() - stat.mtimeMs > LEFTOVER_AGE_MS) {
      await fs.rm(file, { force: true }).catch(() => undefined);
    }
  }
}

/** `/`, `/a`, `/a/b`, … down to `dir` itself. */
function ancestry(dir: string): string[] {
  const chain: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    chain.unshift(current);
    if (path.dirname(current) === current) return chain;
  }
}

async function lstat(file: string): Promise<Stats> {
  try {
    return await fs.lstat(file);
  } catch (error) {
    throw storageError(`Could not check ${file} (${errnoCode(error)}).`, error);
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

function storageError(message: string, cause?: unknown): McpOAuthError {
  return new McpOAuthError('storage_error', message, cause === undefined ? undefined : { cause });
}

function errnoCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}
