// One node's answer to a control request, from its own open sockets: the handler both control
// planes call, on the node that asked and on every other.
// Sockets are found by a scan of this node's sockets (no index by user or connection id: a control
// request is an operator's call, rare next to deliveries, and an index would cost memory per socket).
import { parseAddress } from '../delivery/address.js';
import type { Hub } from '../delivery/hub.js';
import { connectionId, type Connection, type Socket } from '../socket/connection.js';
import type { AnswerLocally, ConnectionView, ControlTarget } from './control.js';

export interface NodeAnswerOptions {
  readonly hub: Hub;
  /** The topic addresses a socket is subscribed to (the hub keeps them for v2 sockets). */
  readonly topicsOf?: (ws: Socket) => readonly string[];
}

const NO_TOPICS: readonly string[] = [];

/** Unix seconds at process-clock second 0 (Connection times are whole process seconds: nowSeconds). */
const unixAtZero = (): number => Math.floor(performance.timeOrigin / 1000);

export function createNodeAnswer({ hub, topicsOf = () => NO_TOPICS }: NodeAnswerOptions): AnswerLocally {
  const matches = (target: ControlTarget): ((ws: Socket) => boolean) => {
    switch (target.kind) {
      case 'keys':
        return (ws) => ws.getUserData().keys.some((key) => target.addresses.includes(key));
      case 'topic':
        return (ws) => topicsOf(ws).includes(target.address);
      case 'user':
        return (ws) => {
          const { app, identity } = ws.getUserData();
          return app === target.app && identity.subject === target.user && (target.session === undefined || identity.session === target.session);
        };
      case 'connection': {
        const node = target.id.slice(0, target.id.lastIndexOf('-'));
        return (ws) => {
          const data = ws.getUserData();
          return data.node === node && data.app === target.app && connectionId(data) === target.id;
        };
      }
    }
  };

  const matching = (target: ControlTarget): Socket[] => {
    const match = matches(target);
    const found: Socket[] = [];
    for (const ws of hub.sockets()) if (!ws.getUserData().closed && match(ws)) found.push(ws);
    return found;
  };

  const view = (ws: Socket, zero: number): ConnectionView => {
    const data: Connection = ws.getUserData();
    return {
      id: connectionId(data),
      node: data.node,
      user: data.identity.subject ?? null,
      session: data.identity.session ?? null,
      // Its routing keys only: the user's and session's addresses are listed as user and session.
      keys: data.keys.map(parseAddress).filter((a) => a.kind === 'key').map((a) => a.name),
      topics: topicsOf(ws).map((topic) => parseAddress(topic).name),
      connected_at: zero + data.openedAt,
      last_seen: zero + data.inboundAt,
    };
  };

  return (request) => {
    const found = matching(request.target);
    switch (request.op) {
      case 'disconnect':
        for (const ws of found) {
          ws.getUserData().closed = true;
          ws.end(request.code, request.reason);
        }
        return { op: 'disconnect', closed: found.length };
      case 'presence':
        return { op: 'presence', connections: found.length };
      case 'send': {
        let written = 0;
        for (const ws of found) {
          const data = ws.getUserData();
          // Under one of the message's other addresses: it got the message through them.
          if (request.skip.some((address) => data.keys.includes(address) || topicsOf(ws).includes(address))) continue;
          if (hub.deliverTo(ws, request.id, request.frame, request.from ?? undefined, data.keys[0] as string)) written++;
        }
        return { op: 'send', found: found.length, written };
      }
      case 'connections': {
        const zero = unixAtZero();
        const after = found.map((ws) => ({ ws, id: connectionId(ws.getUserData()) })).filter((s) => s.id > request.after);
        after.sort((a, b) => (a.id < b.id ? -1 : 1));
        const page = after.slice(0, request.limit);
        return { op: 'connections', connections: page.map((s) => view(s.ws, zero)), more: after.length > page.length };
      }
    }
  };
}
