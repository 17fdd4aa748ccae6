import type { AuthorizationUserAgent } from '../oauth/session/environment';
import { startLoopbackReceiver } from '../oauth/session/loopbackReceiver';
import { openBrowser } from './browser';
import { loadCallbackPages } from './callbackPage';
import { inert } from './terminalText';

export interface BrowserAgent extends AuthorizationUserAgent {
  close(): Promise<void>;
}

const CALLBACK_TIMEOUT_MS = 5 * 60_000;

/**
 * The CLI's user agent: a loopback receiver on 127.0.0.1 (ephemeral port, or `--redirect-port`) and the
 * system browser (or `$BROWSER`). The authorization URL is always printed on stderr too, so it can be
 * opened by hand on a machine without a browser.
 */
export async function startBrowserAgent(options: { port?: number; openBrowser: boolean }): Promise<BrowserAgent> {
  const pages = loadCallbackPages({ baseDir: __dirname });
  const receiver = await startLoopbackReceiver({
    port: options.port ?? 0,
    successHtml: pages.successHtml,
    errorHtml: pages.errorHtml,
  });
  return {
    redirectUri: receiver.redirectUri,
    async authorize(url, state, signal) {
      const waiting = receiver.waitForCallback(state, {
        timeoutMs: CALLBACK_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      });
      process.stderr.write(`Open this URL to sign in:\n  ${inert(url)}\n`);
      if (options.openBrowser && !(await openBrowser(url)))
        process.stderr.write('(Could not open a browser; open the URL by hand.)\n');
      return waiting;
    },
    close: () => receiver.close(),
  };
}
