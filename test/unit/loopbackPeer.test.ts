import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { loopbackPeerUid } from '../../src/platform/loopbackPeer';

// /proc/net/tcp as Linux prints it: a header, then one line per socket (addresses in hex, 127.0.0.1 little-endian).
const TABLE = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100 0 0 10 0',
  '   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65534        0 2222 1 0 20 4 30 10 -1',
  '   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0 20 4 30 10 -1',
].join('\n');

describe('loopbackPeerUid', () => {
  it("finds the owner of the client's end of a connection to our port", async () => {
    // 0xD431 = 54321 (the peer), 0x1F90 = 8080 (ours)
    assert.equal(await loopbackPeerUid({ remotePort: 54321, localPort: 8080 }, async () => TABLE), 65534);
  });

  it('is unknown when the table has no such connection or cannot be read', async () => {
    assert.equal(await loopbackPeerUid({ remotePort: 1, localPort: 8080 }, async () => TABLE), undefined);
    const unreadable = async (): Promise<string> => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    };
    assert.equal(await loopbackPeerUid({ remotePort: 54321, localPort: 8080 }, unreadable), undefined);
  });

  it('on Linux, names this process as the owner of its own connection', async function () {
    if (process.platform !== 'linux') return this.skip();
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => client.once('connect', resolve));
    try {
      assert.equal(await loopbackPeerUid({ remotePort: client.localPort!, localPort: port }), process.getuid!());
    } finally {
      client.destroy();
      server.close();
    }
  });
});
