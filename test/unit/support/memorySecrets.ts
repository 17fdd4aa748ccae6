// VS Code's SecretStorage and Memento in memory, for the parts of the VS Code layer that run in plain Node.
import type * as vscode from 'vscode';

/** SecretStorage with its change event; `behind()` writes as another window would (no event until `announce`). */
export class MemorySecrets implements vscode.SecretStorage {
  readonly values = new Map<string, string>();
  private readonly listeners = new Set<(e: vscode.SecretStorageChangeEvent) => void>();
  reads = 0;
  readonly onDidChange: vscode.Event<vscode.SecretStorageChangeEvent> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  async get(key: string): Promise<string | undefined> {
    this.reads++;
    return this.values.get(key);
  }
  async keys(): Promise<string[]> {
    return [...this.values.keys()];
  }
  async store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    this.announce(key);
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
    this.announce(key);
  }
  /** Another window changed `key`: the value, then the event VS Code relays. */
  fromAnotherWindow(key: string, value: string | undefined): void {
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
    this.announce(key);
  }
  announce(key: string): void {
    for (const l of this.listeners) l({ key });
  }
}

/** globalState: each update takes a while, and `overlapped` tells whether a second began before the first ended. */
export class SlowMemento implements vscode.Memento {
  value: Record<string, unknown> = {};
  inFlight = 0;
  writes = 0;
  overlapped = false;
  constructor(initial?: Record<string, unknown>) {
    if (initial) this.value = { ...initial };
  }
  keys(): readonly string[] {
    return Object.keys(this.value);
  }
  get<T>(key: string, fallback?: T): T {
    return (this.value[key] as T) ?? (fallback as T);
  }
  async update(key: string, value: unknown): Promise<void> {
    if (this.inFlight) this.overlapped = true;
    this.inFlight++;
    await new Promise((r) => setTimeout(r, 2));
    this.value[key] = JSON.parse(JSON.stringify(value));
    this.writes++;
    this.inFlight--;
  }
}
