// Hand-written HTTP over raw TCP, for the requests fetch and `ws` will not send (malformed upgrades).
import { createConnection, type Socket } from 'node:net';

export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** The headers of a valid handshake, in the order browsers send them. */
export const VALID_HANDSHAKE: HeaderList = [
  ['Host', '127.0.0.1'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
  ['Sec-WebSocket-Version', '13'],
];

/** A GET request for `path` with exactly these header lines, repeated or missing ones included. */
export function requestText(path: string, headers: HeaderList): string {
  return `GET ${path} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
}

/** VALID_HANDSHAKE with `name` (any casing) replaced by `values` (none: removed; two: repeated). */
export function handshakeWith(name: string, ...values: string[]): HeaderList {
  const at = VALID_HANDSHAKE.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
  const rest = VALID_HANDSHAKE.filter((_, i) => i !== at);
  const added = values.map((value) => [name, value] as const);
  return at < 0 ? [...rest, ...added] : [...rest.slice(0, at), ...added, ...rest.slice(at)];
}

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The Content-Length body; empty for a 101. */
  readonly body: string;
  /** Still connected after a 101 when `keepOpen` was asked; destroyed otherwise. */
  readonly socket: Socket;
}

/**
 * Sends `text` and resolves once the whole header block (and a Content-Length body) has arrived.
 * TCP may split the response anywhere (an uncorked 101 leaves uWS in many small writes), so nothing
 * is parsed before the blank line that ends the headers. Rejects if the connection ends first.
 */
export function rawRequest(port: number, text: string, options: { keepOpen?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = createConnection(port, '127.0.0.1', () => socket.write(text));
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(statusLine.split(' ')[1]);
      const body = received.subarray(end + 4);
      const length = Number(headers['content-length'] ?? 0);
      if (status !== 101 && body.length < length) return;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', reject);
      if (status !== 101 || options.keepOpen !== true) socket.destroy();
      resolve({ status, headers, body: status === 101 ? '' : body.subarray(0, length).toString('utf8'), socket });
    };
    const onEnd = (): void => reject(new Error(`connection ended after ${JSON.stringify(received.toString('latin1'))}`));
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', reject);
  });
}
