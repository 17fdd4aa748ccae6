/** A listener's subscription, shaped like `vscode.Disposable`. */
export interface Subscription {
  dispose(): void;
}

/** An event, shaped like `vscode.Event`, so consumers can subscribe the same way. */
export type Event<T> = (listener: (e: T) => unknown) => Subscription;

/**
 * A minimal event emitter with the shape of `vscode.EventEmitter`, for the parts of the VS Code layer that
 * must also run in plain Node (their unit tests): a listener that throws does not stop the others.
 */
export class Emitter<T> {
  private readonly listeners = new Set<(e: T) => unknown>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(e: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(e);
      } catch {
        // one consumer's failure is its own; the others still hear of the change
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
