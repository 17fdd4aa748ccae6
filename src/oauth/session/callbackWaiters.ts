import { CancelledError, InvalidResponseError, McpOAuthError } from '../errors';

/** What a sign-in waits for: the callback that carries its `state`, arriving on its own redirect path. */
export interface CallbackWait {
  readonly state: string;
  /**
   * The path of the redirect URI this sign-in sent (`/callback/<authorization server>` for the clients the
   * product registers itself). A callback with the right `state` on another path came back through another
   * authorization server's redirect URI: the mix-up attack of RFC 9700 §4.4, refused.
   */
  readonly path: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** The message of the `callback_timeout` error, which says where the response was expected. */
  readonly timeoutMessage?: string;
}

/** How a delivered callback was taken. */
export type DeliveryOutcome = 'delivered' | 'refused' | 'unexpected';

interface Waiter {
  readonly path: string;
  resolve(url: URL): void;
  reject(error: Error): void;
}

/**
 * The sign-ins waiting for the browser to come back, keyed by `state`: one implementation for every
 * receiver (the loopback server, VS Code's URI handler, a pasted redirect URL, the tests' scripted user).
 * Each waiter races a timeout and cancellation and cleans up after itself; a callback that matches no
 * waiter changes nothing.
 */
export class CallbackWaiters {
  private readonly waiters = new Map<string, Waiter>();

  get pending(): number {
    return this.waiters.size;
  }

  /** Resolves with the callback URL for `wait.state`. Registers synchronously: call it before opening the browser. */
  async wait(wait: CallbackWait): Promise<URL> {
    const { state, signal, timeoutMs } = wait;
    if (state === '') throw new McpOAuthError('invalid_config', 'The callback state must not be empty.');
    if (this.waiters.has(state))
      throw new McpOAuthError('invalid_config', 'A callback with this state is already awaited.');
    if (!(timeoutMs > 0))
      throw new McpOAuthError('invalid_config', 'The callback timeout must be a positive number of milliseconds.');
    if (signal?.aborted) throw new CancelledError();
    let waiter: Waiter | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<URL>((resolve, reject) => {
        waiter = { path: wait.path, resolve, reject };
        this.waiters.set(state, waiter);
        // setTimeout fires at once beyond 2^31 - 1 ms, so longer waits are capped at about 24 days.
        timer = setTimeout(
          () =>
            reject(
              new McpOAuthError(
                'callback_timeout',
                wait.timeoutMessage ?? 'The browser did not come back in time; sign in again',
              ),
            ),
          Math.min(timeoutMs, 2 ** 31 - 1),
        );
        if (signal) {
          onAbort = () => reject(new CancelledError());
          signal.addEventListener('abort', onAbort, { once: true });
        }
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (this.waiters.get(state) === waiter) this.waiters.delete(state);
    }
  }

  /**
   * Hands a callback to the sign-in whose `state` it carries (exactly one `state` parameter). `unexpected`
   * when none waits for it; `refused` when it arrived on another redirect path than that sign-in's, which
   * ends that sign-in with `redirect_mismatch`.
   */
  deliver(callback: URL): DeliveryOutcome {
    const states = callback.searchParams.getAll('state');
    const waiter = states.length === 1 ? this.waiters.get(states[0]!) : undefined;
    if (!waiter) return 'unexpected';
    this.waiters.delete(states[0]!);
    if (normalPath(callback.pathname) !== normalPath(waiter.path)) {
      waiter.reject(
        new InvalidResponseError(
          'redirect_mismatch',
          "The authorization response came back through another authorization server's redirect URI (a mix-up attack, RFC 9700 §4.4); sign-in refused",
        ),
      );
      return 'refused';
    }
    waiter.resolve(callback);
    return 'delivered';
  }

  /** Ends every waiter with `CancelledError` (the receiver is closing). */
  cancelAll(message: string): void {
    for (const waiter of this.waiters.values()) waiter.reject(new CancelledError(message));
    this.waiters.clear();
  }

  /** Ends one waiter with `error`, when it is still waiting. */
  fail(state: string, error: Error): void {
    const waiter = this.waiters.get(state);
    if (!waiter) return;
    this.waiters.delete(state);
    waiter.reject(error);
  }
}

/** Paths compare without a trailing slash: some hosts (code-server's callback route) add or drop one. */
function normalPath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
