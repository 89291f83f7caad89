// Ports for tests that need a fixed one (a second process on the same port, a demo's ports).
import { createServer, type Server, type AddressInfo } from 'node:net';

/** Listens on a free loopback port; close the server to free it. */
export async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/** A port free a moment ago (another process could take it meanwhile, which is unlikely). */
export async function freePort(): Promise<number> {
  const { port, server } = await holdPort();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
