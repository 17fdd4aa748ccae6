import * as vscode from 'vscode';
import { parseSettings, type ParsedSettings } from './model/serverConfig';

export const SECTION = 'mcpOAuth';

/** Reads and validates the settings; `onDidChange` fires when any `mcpOAuth.*` setting changes. */
export class Settings implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly listener: vscode.Disposable;
  private cached: ParsedSettings | undefined;

  constructor() {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      this.cached = undefined;
      this.emitter.fire();
    });
  }

  /** The servers, and the enterprise identity provider their `enterpriseManaged` entries need. */
  servers(): ParsedSettings {
    const config = vscode.workspace.getConfiguration(SECTION);
    return (this.cached ??= parseSettings({
      servers: config.get('servers'),
      enterpriseIdp: config.get('enterpriseIdp'),
    }));
  }

  timeouts(): { timeoutMs: number; refreshBeforeMs: number } {
    const config = vscode.workspace.getConfiguration(SECTION);
    const seconds = (key: string, fallback: number, min: number) => {
      const value = config.get<number>(key);
      return typeof value === 'number' && Number.isFinite(value) && value >= min ? value : fallback;
    };
    return {
      timeoutMs: seconds('requestTimeoutSeconds', 30, 1) * 1000,
      refreshBeforeMs: seconds('refreshBeforeExpirySeconds', 120, 0) * 1000,
    };
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
  }
}
