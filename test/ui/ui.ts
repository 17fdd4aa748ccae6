// What a real-UI step (./steps) gets from the runner (./run.ts), and what a step is.
import type { Page } from 'playwright-core';
import type { Launched } from '../../scripts/codeServer/index.mjs';
import type { PeersEnv, PeersState } from '../integration/peers';
import type { Workbench } from './workbench';

/** The server added through the UI (Add Server…), and the one already in the settings (signed in with a device code). */
export const ADDED = 'Acme Tickets';
export const PRESET = 'Tickets';

/** The command line: [--vsix=FILE] [--keep] [--update-screenshots]. */
export interface UiOptions {
  /** Install this VSIX instead of running `npm run package`. */
  readonly vsix: string | undefined;
  readonly keep: boolean;
  readonly updateScreenshots: boolean;
}

export interface Ui {
  readonly options: UiOptions;
  /** The repository. */
  readonly repo: string;
  /** Node 24, which runs code-server and vsce. */
  readonly node24: string;
  log(message: string): void;
  /**
   * Starts code-server (scripts/codeServer's launch) with these VSIX files installed, the test peers and
   * headless Chromium; the first step calls it, and everything below needs it.
   */
  start(vsix: readonly string[]): Promise<void>;
  readonly cs: Launched;
  /** The workbench's page. */
  readonly page: Page;
  readonly wb: Workbench;
  /** Where the test peers are (test/integration/peers.ts). */
  readonly peers: PeersEnv;
  /** What the peers saw so far. */
  peersState(): Promise<PeersState>;
  /** Saves a screenshot of the workbench (or `target`) as screenshots/NN-name.png in the run's folder. */
  shot(name: string, target?: Page): Promise<string>;
  /** Where the lm-probe helper extension writes its result. */
  readonly probeOut: string;
  /** What one step leaves for a later one. */
  readonly state: { menuEntry?: string };
}

/**
 * One step of the run: prints `ok` or `FAIL` with its title. A step whose `needs` (keys of earlier steps) did
 * not pass is not run, and fails.
 */
export interface Step {
  readonly key: string;
  readonly title: string | ((ui: Ui) => string);
  readonly needs: readonly string[];
  run(ui: Ui): Promise<void>;
}
