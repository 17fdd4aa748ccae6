import { readFile } from 'node:fs/promises';
import type { PeerCheck } from '../oauth/session/loopbackReceiver';

/**
 * Which local user opened a connection to one of our loopback ports, where the system tells: on Linux the
 * kernel's TCP table (`/proc/net/tcp`) names the owner of each socket, the client's included. Elsewhere,
 * and where the table cannot be read or does not list the connection (another network namespace), unknown.
 */
export async function loopbackPeerUid(
  peer: { readonly remotePort: number; readonly localPort: number },
  read: (path: string) => Promise<string> = (path) => readFile(path, 'utf8'),
): Promise<number | undefined> {
  let table: string;
  try {
    table = await read('/proc/net/tcp');
  } catch {
    return undefined;
  }
  // The client's own socket: its local end is the peer's port, its remote end ours (addresses in hex, 127.0.0.1
  // as the kernel prints it: little-endian).
  const local = `0100007F:${hexPort(peer.remotePort)}`;
  const remote = `0100007F:${hexPort(peer.localPort)}`;
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote) {
      const uid = Number(fields[7]);
      return Number.isInteger(uid) ? uid : undefined;
    }
  }
  return undefined;
}

/**
 * The loopback receiver option that refuses sign-in links and responses another local user opened (one who
 * read the link off a command line): empty where the platform cannot tell who opened a connection.
 */
export function sameUserOnly(platform: NodeJS.Platform = process.platform): { peerCheck?: PeerCheck } {
  const uid = process.getuid?.();
  if (platform !== 'linux' || uid === undefined) return {};
  return {
    peerCheck: async (peer) => {
      const owner = await loopbackPeerUid(peer);
      return owner === undefined || owner === uid ? 'same' : { otherUser: owner };
    },
  };
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}
