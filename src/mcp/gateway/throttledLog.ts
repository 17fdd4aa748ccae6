import type { Logger } from '../../oauth/http/logger';

/** Runs `callback` once after `ms` without keeping the process alive; returns how to cancel it. */
export type Schedule = (callback: () => void, ms: number) => () => void;

export const unrefTimeout: Schedule = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Warnings that anyone on the machine can cause as often as they like (a refused request, a connection closed
 * to make room), which must not become a log line each: a flood would fill the log and spend the event loop
 * on it. The first warning of a kind is logged at once; more of the same within the window are counted, and
 * the window ends with one line per kind saying how many. A kind quiet for a whole window is logged at once
 * again. `message` is the kind: callers pass one of a few fixed texts, never anything an attacker chose.
 */
export class ThrottledLog {
  /** The kinds seen in this window, with how many more came after the one logged. */
  private readonly counts = new Map<string, number>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly windowMs: number,
    private readonly schedule: Schedule = unrefTimeout,
  ) {}

  warn(message: string): void {
    const more = this.counts.get(message);
    if (more !== undefined) {
      this.counts.set(message, more + 1);
      return;
    }
    this.logger.warn(message);
    this.counts.set(message, 0);
    this.cancel ??= this.schedule(() => this.endWindow(), this.windowMs);
  }

  /** Logs what was counted and not yet said (the gateway closing, say), and ends the window. */
  flush(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.report();
    this.counts.clear();
  }

  private endWindow(): void {
    this.cancel = undefined;
    for (const [message, more] of this.report()) {
      if (more === 0) this.counts.delete(message);
      else this.counts.set(message, 0);
    }
    if (this.counts.size) this.cancel = this.schedule(() => this.endWindow(), this.windowMs);
  }

  /** One line per kind that came again in this window; returns the counts as they were. */
  private report(): [string, number][] {
    const entries = [...this.counts];
    const seconds = Math.round(this.windowMs / 100) / 10;
    for (const [message, more] of entries) {
      if (more > 0) this.logger.warn(`${message} (${more} more within ${seconds} s)`);
    }
    return entries;
  }
}
