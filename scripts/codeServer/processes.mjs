// Child processes that lead a process group of their own, so that whatever they start (code-server's extension
// host and pty host, the peers' servers) goes down with them; and loopback ports.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with undefined when host:port can be bound now, with the error code otherwise. */
export const probePort = (port, host = '127.0.0.1') =>
  new Promise((res) => {
    const server = createServer();
    server.once('error', (err) => res(err.code ?? String(err)));
    server.listen(port, host, () => server.close(() => res(undefined)));
  });

/** A port that is free on 127.0.0.1 now. */
export const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/**
 * @typedef {object} Group
 * @property {import('node:child_process').ChildProcess} child
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} exited the leader's exit
 * @property {(signal: NodeJS.Signals) => void} signal sends `signal` to the whole group
 * @property {(graceMs?: number, groupGraceMs?: number) => Promise<void>} stop SIGTERM, up to `graceMs` (5 s) for
 *   the leader to exit and `groupGraceMs` (2 s) for the rest of the group, then SIGKILL to what is left (and up
 *   to 1 s for it to go); idempotent
 * @property {() => void} kill SIGKILL to the group, synchronously (for process.on('exit'))
 */

/**
 * Spawns `command args` as the leader of a new process group (not on Windows, where that would open a console
 * window: there the group is the child alone).
 * @param {string} command
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} options
 * @returns {Group}
 */
export function spawnGroup(command, args, options) {
  const windows = process.platform === 'win32';
  const child = spawn(command, args, { ...options, detached: !windows });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = (sig) => {
    if (child.pid === undefined) return;
    try {
      if (windows) child.kill(sig);
      else process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  /** Waits up to `ms` for the group to be empty; resolves with whether it is. */
  const gone = async (ms) => {
    for (const end = Date.now() + ms; ; await sleep(50)) {
      if (windows) {
        if (!running()) return true;
      } else {
        try {
          process.kill(-child.pid, 0);
        } catch (err) {
          if (err.code === 'ESRCH') return true;
        }
      }
      if (Date.now() > end) return false;
    }
  };
  let stopping;
  const stop = (graceMs = 5000, groupGraceMs = 2000) =>
    (stopping ??= (async () => {
      if (child.pid === undefined) return;
      if (running()) {
        signal('SIGTERM');
        await Promise.race([exited, sleep(graceMs)]);
      }
      if (!(await gone(groupGraceMs))) {
        signal('SIGKILL');
        await gone(1000);
      }
    })());
  return { child, exited, signal, stop, kill: () => signal('SIGKILL') };
}

/**
 * Resolves with the first match of `pattern` in what the group's leader prints (on `streams`), and all it
 * printed up to then; rejects when it exits first, or after `ms`. `name` and `event` make the messages
 * ("code-server exited (1) before listening"), `hint(printed)` is appended to them.
 * @param {Group} group
 * @param {RegExp} pattern
 * @param {{ name: string, event: string, streams?: ('stdout' | 'stderr')[], ms?: number, hint?: (printed: string) => string }} how
 * @returns {Promise<{ match: RegExpExecArray, printed: string }>}
 */
export function untilOutput(group, pattern, { name, event, streams = ['stdout', 'stderr'], ms = 60_000, hint }) {
  return new Promise((res, rej) => {
    let printed = '';
    const done = () => {
      clearTimeout(timer);
      for (const s of streams) group.child[s].off('data', onData);
    };
    const onData = (d) => {
      printed += d;
      const match = pattern.exec(printed);
      if (!match) return;
      done();
      res({ match, printed });
    };
    for (const s of streams) group.child[s].on('data', onData);
    const more = () => (hint ? hint(printed) : '');
    group.exited.then(({ code, signal }) => {
      done();
      rej(new Error(`${name} exited (${code ?? signal}) before ${event}${more()}`));
    });
    const timer = setTimeout(() => {
      done();
      rej(new Error(`${name}: no ${event} within ${ms / 1000} s${more()}`));
    }, ms);
    timer.unref();
  });
}
