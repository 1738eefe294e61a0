// A tiny test agent for the browser tests: Node 20 has no WebSocket client, so this speaks
// just enough RFC 6455 over TLS to connect to /agent/v1 with a pool key (after checking the
// appliance's SPKI pin, as real agents do), send JSON text frames, and notice the close code.
import { connect } from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';

/** Connects as an agent; resolves with `{ send(obj), closed: Promise<code>, end() }`. */
export function connectAgent(url, pin, key) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      const spki = socket.getPeerX509Certificate().publicKey.export({ type: 'spki', format: 'der' });
      if (createHash('sha256').update(spki).digest('base64') !== pin) {
        socket.destroy();
        reject(new Error('the appliance does not have the pinned key'));
        return;
      }
      socket.write([
        'GET /agent/v1 HTTP/1.1', `Host: ${hostname}:${port}`, 'Upgrade: websocket',
        'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13', `Authorization: Bearer ${key}`, '', '',
      ].join('\r\n'));
    });
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let onClose;
    const closed = new Promise((r) => { onClose = r; });
    socket.on('error', reject);
    socket.on('close', () => onClose(0));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) { return; }
        const head = buffer.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) { reject(new Error(`upgrade refused: ${head}`)); return; }
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        resolve({ send, closed, end: () => socket.destroy() });
      }
      // Server frames are unmasked; only the close frame's code matters here.
      while (buffer.length >= 2) {
        let len = buffer[1] & 0x7f;
        let at = 2;
        if (len === 126) { if (buffer.length < 4) { return; } len = buffer.readUInt16BE(2); at = 4; }
        else if (len === 127) { if (buffer.length < 10) { return; } len = Number(buffer.readBigUInt64BE(2)); at = 10; }
        if (buffer.length < at + len) { return; }
        const opcode = buffer[0] & 0x0f;
        if (opcode === 0x8) { onClose(len >= 2 ? buffer.readUInt16BE(at) : 0); }
        buffer = buffer.subarray(at + len);
      }
    });

    // Client frames are masked text frames (FIN set).
    function send(message) {
      const payload = Buffer.from(JSON.stringify(message));
      const mask = randomBytes(4);
      let header;
      if (payload.length < 126) {
        header = Buffer.from([0x81, 0x80 | payload.length]);
      } else if (payload.length < 65536) {
        header = Buffer.alloc(4);
        header[0] = 0x81; header[1] = 0x80 | 126; header.writeUInt16BE(payload.length, 2);
      } else {
        header = Buffer.alloc(10);
        header[0] = 0x81; header[1] = 0x80 | 127; header.writeBigUInt64BE(BigInt(payload.length), 2);
      }
      const masked = Buffer.alloc(payload.length);
      for (let i = 0; i < payload.length; i++) { masked[i] = payload[i] ^ mask[i % 4]; }
      socket.write(Buffer.concat([header, mask, masked]));
    }
  });
}
