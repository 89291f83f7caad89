// Messages to one connection (`connection`): a connection is not an address (delivery/address.ts)
// but a socket on one node, named by its id's node part. The message goes to that node over the
// control plane (control/control.ts: answered here on one node, over the Redis bus on many), which
// writes it to the socket if it is still open there. A gone socket gets nothing, nothing is held
// for it, and the publish result says `dropped: 1` (and the metrics count it).
// A message addressing other things too (keys, users, topics) is published to them first; the
// connection's node then skips the socket when it is under one of those addresses, since it got
// the message through them: every socket receives a message once.
import type { ControlPlane } from '../control/control.js';
import type { Dispatcher } from './dispatcher.js';
import type { Message, PublishResult } from './message.js';

/** The dispatcher, with `connection` targets sent over the control plane. Messages without one go
 * to `inner` untouched (publishNow included, so the hot path is one field read more). */
export function withConnectionTargets(inner: Dispatcher, control: ControlPlane): Dispatcher {
  const toConnection = async (message: Message, target: NonNullable<Message['connection']>): Promise<PublishResult> => {
    const others = message.keys.length > 0 || message.topics !== undefined;
    const base: PublishResult = others ? await inner.publish(message) : { id: message.id, delivered: 0, held: 0 };
    if (base.duplicate === true) return base;
    const skip = others ? [...message.keys, ...(message.topics ?? [])] : [];
    const gathered = await control.ask({
      op: 'send', target: { kind: 'connection', app: target.app, id: target.id },
      id: message.id, frame: message.frame, from: message.from ?? null, skip,
    });
    let found = 0;
    let written = 0;
    for (const answer of gathered.answers) {
      if (answer.op !== 'send') continue;
      found += answer.found;
      written += answer.written;
    }
    if (found === 0) return { ...base, dropped: 1 };
    return written === 0 ? base : { ...base, delivered: base.delivered + written };
  };
  return {
    ...inner,
    publish: (message) => (message.connection === undefined ? inner.publish(message) : toConnection(message, message.connection)),
    publishNow: (message) => (message.connection === undefined ? inner.publishNow(message) : undefined),
  };
}
