import { randomUUID } from 'node:crypto';
import { constants, promises as fs, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { McpOAuthError, quote } from '../../oauth/errors';
import { inert } from '../terminalText';
import { privateDirectory, temporaryName } from './privateDirectory';
import { processIsGone } from './processes';

/**
 * A small JSON key-value file, safe to share between processes (the CLI keeps tokens and client
 * registrations in two of them).
 * - Every call reads the file again: another process may have written it since, and a refresh token that
 *   process rotated must not be replayed from a stale copy.
 * - Writes are atomic (a 0600 temporary file in the same directory, fsync, rename).
 * - The directory is private (see {@link privateDirectory}: 0700, yours, reached through nothing another
 *   user controls). No file is opened through a symbolic link (O_NOFOLLOW), so a link planted by another user
 *   (tokens.json → ~/.ssh/authorized_keys, or → a file they can read) is never followed; a file that is not
 *   yours, or that others can read or write, is refused when read, since it could hand the CLI a token or a
 *   client of theirs. (None of this applies on Windows, which has no owners, modes or O_NOFOLLOW; the state
 *   directory lies in the user's profile there, which its ACL keeps to the user.)
 * - Writers are serialised: in this process by a queue per file, across processes by a lock file created
 *   with O_EXCL that a live holder keeps fresh. A lock whose process is gone is broken at once; one whose
 *   process cannot be seen (another machine sharing the directory) once it goes stale; one of another user
 *   is refused, never waited for.
 * - A damaged file is a `storage_error` naming the file and how to reset it, never quoting its contents.
 */
export interface JsonFileStoreOptions<T> {
  /** Checks an entry before `get` or `update` hand it out; an entry that fails is a `storage_error`. */
  readonly isValue?: (value: unknown) => value is T;
  /** A lock file not touched for this long is taken to be left by a crashed process. Default 10 s. */
  readonly lockStaleMs?: number;
  /** How long to wait for a lock another process holds before giving up. Default 60 s. */
  readonly lockTimeoutMs?: number;
  /** How often to try again for a held lock. Default 25 ms. */
  readonly lockRetryMs?: number;
  /** Told when the directory was made private. Default: a line on stderr. */
  readonly notify?: (message: string) => void;
}

/** What `update`'s callback returns: the value to store, `undefined` to delete, or `current` to leave as is. */
export type EntryUpdate<T> = (current: T | undefined) => T | undefined | Promise<T | undefined>;

const FORMAT_VERSION = 1;
const FILE_MODE = 0o600;
/** Windows has neither flag (see above). */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** A FIFO planted in place of a file would block the open; with this it opens, and is refused as not a file. */
const NONBLOCK = constants.O_NONBLOCK ?? 0;
const READ_FLAGS = constants.O_RDONLY | NOFOLLOW | NONBLOCK;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

/** Where a store's files really are: in its directory with every symbolic link resolved. */
interface Location {
  readonly dir: string;
  readonly file: string;
  readonly lock: string;
}

/** The process that holds a lock, as far as its file tells. */
interface LockHolder {
  readonly ino: number;
  readonly mtimeMs: number;
  /** It ran on this machine and is gone. */
  readonly gone: boolean;
}

export class JsonFileStore<T> {
  readonly filePath: string;
  private readonly lockPath: string;
  private readonly isValue: ((value: unknown) => value is T) | undefined;
  private readonly lockStaleMs: number;
  private readonly lockTimeoutMs: number;
  private readonly lockRetryMs: number;
  private readonly notify: (message: string) => void;

  constructor(filePath: string, options: JsonFileStoreOptions<T> = {}) {
    this.filePath = path.resolve(filePath);
    this.lockPath = `${this.filePath}.lock`;
    this.isValue = options.isValue;
    this.lockStaleMs = options.lockStaleMs ?? 10_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    this.lockRetryMs = options.lockRetryMs ?? 25;
    this.notify = options.notify ?? ((message) => process.stderr.write(`mcp-oauth: ${inert(message)}\n`));
  }

  async get(key: string): Promise<T | undefined> {
    return this.entry(await this.read(), key);
  }

  /** The keys present, sorted. */
  async keys(): Promise<string[]> {
    return [...(await this.read()).keys()].sort();
  }

  async set(key: string, value: T): Promise<void> {
    await this.modify((entries) => {
      entries.set(key, value);
      return { changed: true, result: undefined };
    });
  }

  async delete(key: string): Promise<void> {
    await this.modify((entries) => ({ changed: entries.delete(key), result: undefined }));
  }

  /**
   * An atomic read-modify-write of one entry, across processes: `fn` sees the entry as it is now on disk
   * and no other writer can come between the read and the write. `fn` may be async (a token refresh).
   * Returning `undefined` deletes the entry; returning `current` itself writes nothing. When `fn` throws,
   * nothing is written and the error propagates. Resolves with the value now stored.
   */
  async update(key: string, fn: EntryUpdate<T>): Promise<T | undefined> {
    return this.modify(async (entries) => {
      const current = this.entry(entries, key);
      const next = await fn(current);
      if (next === current) return { changed: false, result: current };
      if (next === undefined) entries.delete(key);
      else entries.set(key, next);
      return { changed: true, result: next };
    });
  }

  private entry(entries: Map<string, unknown>, key: string): T | undefined {
    const value = entries.get(key);
    if (value === undefined) return undefined;
    if (this.isValue && !this.isValue(value)) {
      throw new McpOAuthError(
        'storage_error',
        `The entry ${quote(key)} in ${this.filePath} is damaged. Delete that entry, or the whole file, to reset it.`,
      );
    }
    return value as T;
  }

  private modify<R>(
    fn: (entries: Map<string, unknown>) => { changed: boolean; result: R } | Promise<{ changed: boolean; result: R }>,
  ): Promise<R> {
    return serialise(this.filePath, () =>
      this.withLock(async (where) => {
        const entries = await this.read(where);
        const { changed, result } = await fn(entries);
        if (changed) await this.write(where, entries);
        return result;
      }),
    );
  }

  /** The directory checked (and created, with `create`); `undefined` when there is none to read from. */
  private async location(create: boolean): Promise<Location | undefined> {
    const dir = await privateDirectory(path.dirname(this.filePath), { create, notify: this.notify });
    if (!dir) return undefined;
    const file = path.join(dir.realPath, path.basename(this.filePath));
    return { dir: dir.realPath, file, lock: `${file}.lock` };
  }

  private async read(where?: Location): Promise<Map<string, unknown>> {
    where ??= await this.location(false);
    const text = where && (await this.readPrivate(where.file));
    if (text === undefined || text.trim() === '') return new Map();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      // The SyntaxError quotes the file's text, so it is neither shown nor kept as the cause.
      throw this.damaged('is not valid JSON');
    }
    if (!isRecord(data) || typeof data.version !== 'number' || !isRecord(data.entries)) {
      throw this.damaged('is not an mcp-oauth store');
    }
    if (data.version > FORMAT_VERSION) {
      throw new McpOAuthError(
        'storage_error',
        `${this.filePath} was written by a newer version of mcp-oauth. Upgrade mcp-oauth, or delete the file to reset it.`,
      );
    }
    return new Map(Object.entries(data.entries));
  }

  /**
   * The text of `file`, or `undefined` when there is none: opened without following a symbolic link, and
   * only when it is a regular file of this user that nobody else can read or write.
   */
  private async readPrivate(file: string): Promise<string | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, READ_FLAGS);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      if (isLinkRefusal(error)) throw this.plantedLink(this.filePath);
      throw this.ioError('read', error);
    }
    try {
      this.checkPrivate(await handle.stat());
      return await handle.readFile('utf8');
    } catch (error) {
      throw this.ioError('read', error);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private checkPrivate(stat: Stats): void {
    if (!stat.isFile()) throw this.damaged('is not a regular file');
    const uid = process.getuid?.();
    if (uid === undefined) return;
    if (stat.uid !== uid) {
      throw new McpOAuthError(
        'storage_error',
        `${this.filePath} belongs to another user (uid ${stat.uid}), so what it holds cannot be trusted: it could hand mcp-oauth their token or client for a server of theirs. Delete it to reset it; you may have to sign in again.`,
      );
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new McpOAuthError(
        'storage_error',
        `${this.filePath} can be read or changed by other users (mode 0${(stat.mode & 0o777).toString(8)}), so what it holds may have been seen or changed. Delete it to reset it (you may have to sign in again); if you made it so yourself, run chmod 600 ${this.filePath}.`,
      );
    }
  }

  /**
   * Writes a temporary file (created anew: O_EXCL, O_NOFOLLOW, 0600) and renames it over the file. A process
   * killed in between leaves the temporary file, with the tokens in it, for the next one to delete (see
   * {@link privateDirectory}); nothing but the fsync that makes the write durable happens in between.
   */
  private async write(where: Location, entries: Map<string, unknown>): Promise<void> {
    const temp = path.join(where.dir, temporaryName(path.basename(where.file), process.pid, randomUUID()));
    const text = `${JSON.stringify({ version: FORMAT_VERSION, entries: Object.fromEntries(entries) }, null, 2)}\n`;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(temp, CREATE_FLAGS, FILE_MODE);
      await handle.chmod(FILE_MODE); // the umask could have taken bits away; never add any
      await handle.writeFile(text, 'utf8');
      await handle.sync();
      await handle.close();
      handle = undefined;
      await renameReplacing(temp, where.file);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw this.ioError('write', error);
    }
    await syncDirectory(where.dir);
  }

  private async withLock<R>(task: (where: Location) => Promise<R>): Promise<R> {
    const where = (await this.location(true))!; // created, so there
    const release = await this.acquireLock(where);
    try {
      return await task(where);
    } finally {
      await release();
    }
  }

  private async acquireLock(where: Location): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      const held = await this.tryCreateLock(where.lock);
      if (held) return held;
      const holder = await this.lockHolder(where);
      if (!holder) continue; // released between our attempt and the look
      if (holder.gone || Date.now() - holder.mtimeMs > this.lockStaleMs) {
        await breakStaleLock(where.lock, holder.ino);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new McpOAuthError(
          'storage_error',
          `${this.filePath} is locked by another mcp-oauth process. Wait for it to finish; if none is running, delete ${this.lockPath}.`,
        );
      }
      await sleep(this.lockRetryMs);
    }
  }

  /**
   * Creates the lock file (O_EXCL) and returns its release, or `undefined` when another holder has it. It
   * names this process and machine (`<pid>\n<hostname>\n`), so that another process can tell when it is gone.
   */
  private async tryCreateLock(lockPath: string): Promise<(() => Promise<void>) | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(lockPath, CREATE_FLAGS, FILE_MODE);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') return undefined;
      throw this.ioError('create the lock file of', error);
    }
    let ino: number | undefined;
    try {
      await handle.writeFile(`${process.pid}\n${hostname()}\n`, 'utf8');
      ino = (await handle.stat()).ino;
    } catch (error) {
      await handle.close().catch(() => undefined);
      await fs.rm(lockPath, { force: true }).catch(() => undefined);
      throw this.ioError('create the lock file of', error);
    }
    // A live holder keeps the lock fresh, so a slow task (a token refresh) is not mistaken for a crash. It
    // touches the file it opened, never whatever the path may lead to by then.
    const heartbeat = setInterval(
      () => {
        const now = new Date();
        handle.utimes(now, now).catch(() => undefined);
      },
      Math.max(1, Math.floor(this.lockStaleMs / 3)),
    );
    heartbeat.unref();
    return async () => {
      clearInterval(heartbeat);
      await handle.close().catch(() => undefined);
      const stat = await fs.lstat(lockPath).catch(() => undefined);
      if (stat?.ino === ino) await fs.rm(lockPath, { force: true }).catch(() => undefined);
    };
  }

  /**
   * Who holds the lock (`undefined` when nobody does any more). A lock of another user is refused at once:
   * in a private directory it can only have been planted while the directory was open, and waiting for it
   * would wait forever. A lock not written yet (its holder just created it), or written on another machine,
   * is left to go stale.
   */
  private async lockHolder(where: Location): Promise<LockHolder | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(where.lock, READ_FLAGS);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      if (isLinkRefusal(error)) throw this.plantedLink(this.lockPath);
      throw this.ioError('read the lock file of', error);
    }
    try {
      const stat = await handle.stat();
      const uid = process.getuid?.();
      if (uid !== undefined && stat.uid !== uid) {
        throw new McpOAuthError(
          'storage_error',
          `${this.lockPath} belongs to another user (uid ${stat.uid}), so mcp-oauth neither waits for it nor removes it. Delete it if nobody else should use ${path.dirname(this.filePath)}.`,
        );
      }
      const buffer = Buffer.alloc(300);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      // The pid counts once its line is complete; a lock without a host line was written on this machine.
      const [, pid, host] = /^(\d+)\n(?:([^\n]*)\n)?$/.exec(buffer.toString('utf8', 0, bytesRead)) ?? [];
      const here = host === undefined || host === hostname();
      return { ino: stat.ino, mtimeMs: stat.mtimeMs, gone: pid !== undefined && here && processIsGone(Number(pid)) };
    } catch (error) {
      throw this.ioError('read the lock file of', error);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private plantedLink(file: string): McpOAuthError {
    return new McpOAuthError(
      'storage_error',
      `${file} is a symbolic link, which mcp-oauth never follows: another user may have put it there to make it read or write a file of their choosing. Delete it; you may have to sign in again.`,
    );
  }

  private damaged(reason: string): McpOAuthError {
    return new McpOAuthError(
      'storage_error',
      `${this.filePath} ${reason}, so it cannot be used. Delete or rename it to reset it; what it held is set up again when next needed (you may have to sign in again).`,
    );
  }

  private ioError(action: string, error: unknown): McpOAuthError {
    if (error instanceof McpOAuthError) return error;
    const code = errnoCode(error) ?? 'unknown error';
    return new McpOAuthError(
      'storage_error',
      `Could not ${action} ${this.filePath} (${code}). Check that you own it and its directory, and that the disk is not full.`,
      { cause: error },
    );
  }
}

/** One queue per file in this process, shared by every store on that file. */
const queues = new Map<string, Promise<unknown>>();

function serialise<R>(key: string, task: () => Promise<R>): Promise<R> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

/**
 * Removes a lock left by a crashed process. It is first renamed aside, so that of two processes breaking
 * the same stale lock only one succeeds; if what was renamed turns out to be a fresh lock (taken between our
 * stat and the rename), it is put back.
 */
async function breakStaleLock(lockPath: string, staleIno: number): Promise<void> {
  const aside = `${lockPath}.${randomUUID()}.stale`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return; // gone already, or someone else moved it
  }
  const stat = await fs.lstat(aside).catch(() => undefined);
  if (stat && stat.ino !== staleIno) await fs.link(aside, lockPath).catch(() => undefined);
  await fs.rm(aside, { force: true }).catch(() => undefined);
}

/** Windows refuses to replace a file another process has open for a moment; try a few times. */
async function renameReplacing(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.rename(from, to);
      return;
    } catch (error) {
      const code = errnoCode(error);
      if (attempt >= 10 || (code !== 'EPERM' && code !== 'EACCES' && code !== 'EBUSY')) throw error;
      await sleep(10 * (attempt + 1));
    }
  }
}

/** Makes the rename durable. Directories cannot be opened for fsync on Windows, so this is best-effort. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // best-effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** What open(2) with O_NOFOLLOW says for a symbolic link: ELOOP (Linux, macOS), EMLINK (FreeBSD). */
function isLinkRefusal(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ELOOP' || code === 'EMLINK';
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
