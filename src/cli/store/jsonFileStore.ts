import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { McpOAuthError, quote } from '../../oauth/errors';

/**
 * A small JSON key-value file, safe to share between processes (the CLI keeps tokens and client
 * registrations in two of them).
 * - Every call reads the file again: another process may have written it since, and a refresh token that
 *   process rotated must not be replayed from a stale copy.
 * - Writes are atomic (a 0600 temporary file in the same directory, fsync, rename); the directory is 0700.
 * - Writers are serialised: in this process by a queue per file, across processes by a lock file created
 *   with O_EXCL that a live holder keeps fresh and a crashed one leaves to go stale.
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
}

/** What `update`'s callback returns: the value to store, `undefined` to delete, or `current` to leave as is. */
export type EntryUpdate<T> = (current: T | undefined) => T | undefined | Promise<T | undefined>;

const FORMAT_VERSION = 1;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export class JsonFileStore<T> {
  readonly filePath: string;
  private readonly lockPath: string;
  private readonly isValue: ((value: unknown) => value is T) | undefined;
  private readonly lockStaleMs: number;
  private readonly lockTimeoutMs: number;
  private readonly lockRetryMs: number;

  constructor(filePath: string, options: JsonFileStoreOptions<T> = {}) {
    this.filePath = path.resolve(filePath);
    this.lockPath = `${this.filePath}.lock`;
    this.isValue = options.isValue;
    this.lockStaleMs = options.lockStaleMs ?? 10_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    this.lockRetryMs = options.lockRetryMs ?? 25;
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
      this.withLock(async () => {
        const entries = await this.read();
        const { changed, result } = await fn(entries);
        if (changed) await this.write(entries);
        return result;
      }),
    );
  }

  private async read(): Promise<Map<string, unknown>> {
    let text: string;
    try {
      text = await fs.readFile(this.filePath, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return new Map();
      throw this.ioError('read', error);
    }
    if (text.trim() === '') return new Map();
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

  private async write(entries: Map<string, unknown>): Promise<void> {
    const dir = path.dirname(this.filePath);
    const temp = path.join(dir, `.${path.basename(this.filePath)}.${process.pid}.${randomUUID()}.tmp`);
    const text = `${JSON.stringify({ version: FORMAT_VERSION, entries: Object.fromEntries(entries) }, null, 2)}\n`;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(temp, 'wx', FILE_MODE);
      await handle.chmod(FILE_MODE); // the umask could have taken bits away; never add any
      await handle.writeFile(text, 'utf8');
      await handle.sync();
      await handle.close();
      handle = undefined;
      await renameReplacing(temp, this.filePath);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw this.ioError('write', error);
    }
    await syncDirectory(dir);
  }

  private async withLock<R>(task: () => Promise<R>): Promise<R> {
    await this.ensureDirectory();
    const release = await this.acquireLock();
    try {
      return await task();
    } finally {
      await release();
    }
  }

  private async ensureDirectory(): Promise<void> {
    try {
      await fs.mkdir(path.dirname(this.filePath), { recursive: true, mode: DIR_MODE });
    } catch (error) {
      throw this.ioError('create the directory of', error);
    }
  }

  private async acquireLock(): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      const held = await this.tryCreateLock();
      if (held) return held;
      const stat = await fs.stat(this.lockPath).catch(() => undefined);
      if (!stat) continue; // released between our attempt and the stat
      if (Date.now() - stat.mtimeMs > this.lockStaleMs) {
        await breakStaleLock(this.lockPath, stat.ino);
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

  /** Creates the lock file (O_EXCL) and returns its release, or `undefined` when another holder has it. */
  private async tryCreateLock(): Promise<(() => Promise<void>) | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.lockPath, 'wx', FILE_MODE);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') return undefined;
      throw this.ioError('create the lock file of', error);
    }
    let ino: number | undefined;
    let failure: unknown;
    try {
      await handle.writeFile(`${process.pid}\n`, 'utf8');
      ino = (await handle.stat()).ino;
    } catch (error) {
      failure = error;
    }
    await handle.close().catch(() => undefined);
    if (ino === undefined) {
      await fs.rm(this.lockPath, { force: true }).catch(() => undefined);
      throw this.ioError('create the lock file of', failure);
    }
    const lockPath = this.lockPath;
    // A live holder keeps the lock fresh, so a slow task (a token refresh) is not mistaken for a crash.
    const heartbeat = setInterval(
      () => {
        const now = new Date();
        fs.utimes(lockPath, now, now).catch(() => undefined);
      },
      Math.max(1, Math.floor(this.lockStaleMs / 3)),
    );
    heartbeat.unref();
    return async () => {
      clearInterval(heartbeat);
      const stat = await fs.stat(lockPath).catch(() => undefined);
      if (stat?.ino === ino) await fs.rm(lockPath, { force: true }).catch(() => undefined);
    };
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
  const stat = await fs.stat(aside).catch(() => undefined);
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
