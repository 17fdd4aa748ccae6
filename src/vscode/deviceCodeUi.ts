import * as vscode from 'vscode';
import type { ServerEntry } from './model/serverConfig';
import type { DeviceAuthorization } from '../oauth/grants/deviceCode';
import { openExternalUrl } from './openExternal';

/**
 * RFC 8628 in VS Code: shows the user code with "Copy & Open" (copies the code, opens the verification
 * page) and Cancel. Polling starts as soon as the code is shown and the progress keeps running.
 */
export async function presentDeviceCode(
  entry: ServerEntry,
  device: DeviceAuthorization,
  abort: () => void,
  progress: vscode.Progress<{ message?: string }>,
): Promise<void> {
  progress.report({ message: `Enter the code ${device.userCode} at ${device.verificationUri}` });
  const copyAndOpen = 'Copy & Open';
  void vscode.window
    .showInformationMessage(
      `Sign in to ${entry.name}: enter the code ${device.userCode} at ${device.verificationUri}`,
      copyAndOpen,
      'Cancel',
    )
    .then(async (choice) => {
      if (choice === copyAndOpen) {
        await vscode.env.clipboard.writeText(device.userCode);
        await openExternalUrl(device.verificationUriComplete ?? device.verificationUri);
      } else if (choice === 'Cancel') {
        abort();
      }
    });
}
