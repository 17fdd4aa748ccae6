// A "browser" for the CLI tests, named in $BROWSER: `node --import tsx approvingBrowser.ts %s`.
// For an authorization URL it signs in and consents as the scripted user, then follows the redirect to the
// CLI's loopback receiver; for a device verification URL it enters or confirms the code and approves.
// Failures go to $APPROVING_BROWSER_LOG (the CLI starts browsers detached, with no output).
import { appendFileSync } from 'node:fs';
import { approveAuthorization, approveDevice, Browser } from '../../fixtures/userAgent';

async function main(url: string): Promise<void> {
  const target = new URL(url);
  if (target.pathname.startsWith('/device')) {
    await approveDevice(url, target.searchParams.get('user_code') ?? undefined);
    log(`approved device ${target.origin}${target.pathname}`);
    return;
  }
  const browser = new Browser(); // one profile: the loopback receiver's cookie goes back with the callback
  const callback = await approveAuthorization(url, {
    browser,
    onAuthorizationRequest: (request) => {
      const file = process.env.APPROVING_BROWSER_REQUESTS;
      if (file) appendFileSync(file, `${request.href}\n`);
    },
  });
  const response = await browser.open({ url: callback, method: 'GET' });
  await response.body?.cancel();
  log(`approved authorization, callback answered ${response.status}`);
}

function log(line: string): void {
  const file = process.env.APPROVING_BROWSER_LOG;
  if (file) appendFileSync(file, `${line}\n`);
}

const url = process.argv[2];
if (!url) {
  log('no URL given');
  process.exit(1);
}
main(url).catch((error: unknown) => {
  log(`failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
