import type { DeviceAuthorization } from '../oauth/grants/deviceCode';
import { cryptoRandom } from '../oauth/http/random';
import type { SignInHost } from '../oauth/session/host';
import { startLoopbackReceiver } from '../oauth/session/loopbackReceiver';
import { openBrowser } from './browser';
import { inert } from './terminalText';
import { sameUserOnly } from '../platform/loopbackPeer';

/**
 * The CLI as a sign-in host: the browser comes back to a loopback receiver on 127.0.0.1, URLs and device
 * codes go to stderr (and to the system browser unless `--no-browser`). It never asks for a secret: those
 * come from the environment variable or key file named on the command line.
 */
export function cliHost(options: { readonly openBrowser: boolean }, stderr = process.stderr): SignInHost {
  const open = async (url: string): Promise<boolean> => options.openBrowser && (await openBrowser(url));
  return {
    receivers: ['loopback'],
    openReceiver: (_kind, { path, port }) =>
      startLoopbackReceiver({
        path,
        ...(port !== undefined ? { port } : {}),
        returnTo: 'your terminal',
        random: cryptoRandom,
        ...sameUserOnly(),
      }),
    async openBrowser(url) {
      stderr.write(`Open this URL to sign in:\n  ${inert(url)}\n`);
      if (options.openBrowser && !(await open(url)))
        stderr.write('(Could not open a browser; open the URL by hand.)\n');
    },
    async showDeviceCode(device: DeviceAuthorization) {
      // The code and the URLs come from the authorization server: shown inert (no terminal control sequences).
      stderr.write(`${inert(`To sign in, open ${device.verificationUri} and enter the code ${device.userCode}`)}\n`);
      if (device.verificationUriComplete) stderr.write(`  (or open ${inert(device.verificationUriComplete)})\n`);
      await open(device.verificationUriComplete ?? device.verificationUri);
    },
  };
}
