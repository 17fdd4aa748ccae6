// A CPU profile of one async step, taken with the inspector inside the process that runs it (the extension
// host), and summarized: where the time went, by file, and the functions that took the most of it themselves.
import { Session } from 'node:inspector';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** The profile's span, in ms, without the profiler's own calls. */
  readonly totalMs: number;
  /** Samples with a frame of a file whose path ends in one of `ours` on the stack (our code, with what it calls synchronously). */
  readonly oursMs: number;
  /** No JavaScript running: the thread waited (on the main thread's RPC, I/O, timers). */
  readonly idleMs: number;
  /** Everything else: VS Code's extension host code, Node internals, GC. */
  readonly otherMs: number;
  /** Samples inside the inspector's own calls (starting and stopping the profiler): left out of everything else. */
  readonly profilerMs: number;
  /** The functions with the most self time: `name file:line  ms`. */
  readonly topSelf: string[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/** Runs `body` under the sampling profiler (`intervalUs` between samples) and summarizes it. */
export async function profiled<T>(
  body: () => Promise<T>,
  ours: readonly string[],
  intervalUs = 100,
): Promise<{ value: T; summary: ProfileSummary }> {
  const session = new Session();
  session.connect();
  try {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: intervalUs });
    await post(session, 'Profiler.start');
    const outcome = await body().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const { profile } = await post<{ profile: Profile }>(session, 'Profiler.stop');
    if (!outcome.ok) throw outcome.error;
    return { value: outcome.value, summary: summarize(profile, ours) };
  } finally {
    session.disconnect();
  }
}

function summarize(profile: Profile, ours: readonly string[]): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const onStack = (test: (url: string) => boolean) => {
    const memo = new Map<number, boolean>();
    const has = (id: number): boolean => {
      const known = memo.get(id);
      if (known !== undefined) return known;
      const up = parent.get(id);
      const value = test(byId.get(id)!.callFrame.url) || (up !== undefined && has(up));
      memo.set(id, value);
      return value;
    };
    return has;
  };
  const stackHasOurs = onStack((url) => ours.some((suffix) => url.endsWith(suffix)));
  const stackHasInspector = onStack((url) => url === 'node:inspector');
  const self = new Map<string, number>();
  let oursUs = 0;
  let idleUs = 0;
  let otherUs = 0;
  let profilerUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName || '(anonymous)';
    if (stackHasInspector(id)) {
      profilerUs += dt;
      return;
    }
    if (name === '(idle)') {
      idleUs += dt;
      return;
    }
    if (stackHasOurs(id)) oursUs += dt;
    else otherUs += dt;
    const key = `${name} ${node.callFrame.url ? basename(node.callFrame.url) : ''}:${node.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    totalMs: ms(profile.endTime - profile.startTime - profilerUs),
    profilerMs: ms(profilerUs),
    oursMs: ms(oursUs),
    idleMs: ms(idleUs),
    otherMs: ms(otherUs),
    topSelf: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([key, us]) => `${key}  ${ms(us)} ms`),
  };
}
