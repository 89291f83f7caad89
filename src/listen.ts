// The listen socket: the port is exclusive unless WS_REUSE_PORT=true, and a failed listen becomes a
// start-up error that says why (uWS only answers `false`).
import { createServer } from 'node:net';
import uWS from 'uWebSockets.js';
import { OctowayError } from './errors.js';

/** uSockets' listen options. uWS binds with SO_REUSEPORT by default, so a second gateway on a
 * served port would start and the kernel would split connections between the two; EXCLUSIVE
 * binds without it, so the second start fails. Sharing needs every process to opt in. */
const LIBUS_LISTEN_DEFAULT = 0;
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

type ListenWithOptions = (host: string, port: number, options: number, cb: (socket: uWS.us_listen_socket | false) => void) => uWS.TemplatedApp;

/** `name`: the variable that set the port, for the error. */
export function listen(app: uWS.TemplatedApp, host: string, port: number, reusePort: boolean, name = 'WS_PORT'): Promise<uWS.us_listen_socket> {
  const options = reusePort ? LIBUS_LISTEN_DEFAULT : LIBUS_LISTEN_EXCLUSIVE_PORT;
  return new Promise((resolve, reject) => {
    // The index.d.ts of this build lists options only without a host; the binding takes both.
    (app.listen as unknown as ListenWithOptions).call(app, host, port, options, (socket) => {
      if (socket !== false) resolve(socket);
      else void listenError(host, port, reusePort, name).then(reject);
    });
  });
}

/** Finds out why the bind failed by trying it with node:net, which reports the errno. */
async function listenError(host: string, port: number, reusePort: boolean, name: string): Promise<Error> {
  const code = await new Promise<string | undefined>((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  switch (code) {
    case 'EADDRINUSE':
      return new OctowayError('PORT_IN_USE', `${name} ${port} is already in use on WS_HOST ${host} (another Octoway, or another program, listens there): stop it or choose another ${name}`
        + (reusePort ? '; WS_REUSE_PORT=true shares a port only with processes that set it too' : '; to share the port between Octoway processes on purpose, set WS_REUSE_PORT=true on each of them'));
    case 'EADDRNOTAVAIL':
      return new OctowayError('CONFIG_INVALID', `WS_HOST=${JSON.stringify(host)}: expected an address of this machine (or 0.0.0.0)`);
    case 'EACCES':
      return new OctowayError('CONFIG_INVALID', `${name}=${JSON.stringify(String(port))}: this user may not listen on it (ports below 1024 need privileges); choose a port from 1024`);
    default:
      return new Error(`cannot listen on ${host}:${port}${code === undefined ? '' : ` (${code})`}`);
  }
}
