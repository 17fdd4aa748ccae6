import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The two pages the loopback receiver serves once the browser comes back. */
export interface CallbackPages {
  readonly successHtml: string;
  readonly errorHtml: string;
}

export interface LoadCallbackPagesOptions {
  /** The directory of the running script: `dist/` when bundled, `src/cli/` under tsx. */
  readonly baseDir?: string;
  /** Reads a file as UTF-8; throws when it is missing. Injected by tests. */
  readonly readFile?: (file: string) => string;
  /** Where the page sends the user back to. Default "your editor". */
  readonly returnTo?: string;
}

export type CallbackPageKind = 'success' | 'error';

/** Used when `media/callback.html` is not shipped next to the script. Same placeholders, no styling. */
const FALLBACK_TEMPLATE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{TITLE}}</title>' +
  '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">' +
  '<style>body{font:16px/1.5 system-ui,sans-serif;margin:4rem auto;max-width:30rem;padding:0 1rem;text-align:center}</style>' +
  '</head><body class="{{KIND}}"><h1>{{TITLE}}</h1><p>{{MESSAGE}}</p></body></html>';

/** Loads `media/callback.html` and fills in the success and failure texts; never throws. */
export function loadCallbackPages(options: LoadCallbackPagesOptions = {}): CallbackPages {
  const readFile = options.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  const template =
    readTemplate(callbackTemplateCandidates(options.baseDir ?? scriptDir()), readFile) ?? FALLBACK_TEMPLATE;
  return {
    successHtml: renderCallbackPage(template, 'success', options.returnTo),
    errorHtml: renderCallbackPage(template, 'error', options.returnTo),
  };
}

/** Where the template may be: `dist/cli.js` → `../media`, `src/cli/*.ts` → `../../media`. */
export function callbackTemplateCandidates(baseDir: string): string[] {
  return [
    path.resolve(baseDir, '..', 'media', 'callback.html'),
    path.resolve(baseDir, '..', '..', 'media', 'callback.html'),
  ];
}

/** Fills the template's `{{KIND}}`, `{{TITLE}}` and `{{MESSAGE}}` with fixed, escaped texts. */
export function renderCallbackPage(template: string, kind: CallbackPageKind, returnTo = 'your editor'): string {
  const texts =
    kind === 'success'
      ? { TITLE: 'Signed in', MESSAGE: `You can close this tab and return to ${returnTo}.` }
      : { TITLE: 'Sign-in failed', MESSAGE: `Return to ${returnTo} for details.` };
  const values: Record<string, string> = { KIND: kind, ...texts };
  return template.replace(/\{\{(KIND|TITLE|MESSAGE)\}\}/g, (_match, name: string) => escapeHtml(values[name] ?? ''));
}

function readTemplate(candidates: readonly string[], readFile: (file: string) => string): string | undefined {
  for (const file of candidates) {
    try {
      return readFile(file);
    } catch {
      // try the next place
    }
  }
  return undefined;
}

function scriptDir(): string {
  // esbuild bundles the CLI as CommonJS, and tsx runs the sources as CommonJS, so __dirname is defined.
  return typeof __dirname === 'string' ? __dirname : path.dirname(process.argv[1] ?? '.');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
