// Counts what the dispatcher does with each published message and each acknowledgement, by wrapping
// it: the dispatcher itself stays free of metrics. Plain integer increments, read on scrape.
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { PublishResult } from '../delivery/message.js';

export interface PublishCounts {
  /** Written to at least one open socket (and maybe held too: at-least-once, or other keys). */
  delivered: number;
  /** Reached no open socket and held for later. */
  held: number;
  /** A message_id already seen: neither stored nor delivered again. */
  duplicate: number;
  /** Reached no open socket and not held (`expire` 0). */
  discarded: number;
  /** To a `connection` that was gone: written to nobody, held for nobody. */
  connectionGone: number;
  acknowledged: number;
}

export function countPublishes(inner: Dispatcher, counts: PublishCounts): Dispatcher {
  const note = (result: PublishResult): PublishResult => {
    if (result.dropped !== undefined && result.dropped > 0) counts.connectionGone++;
    if (result.duplicate === true) counts.duplicate++;
    else if (result.delivered > 0) counts.delivered++;
    else if (result.held > 0) counts.held++;
    else counts.discarded++;
    return result;
  };
  return {
    publish: (message) => inner.publish(message).then(note),
    publishNow(message) {
      const result = inner.publishNow(message);
      return result === undefined ? undefined : note(result);
    },
    connect: (ws) => inner.connect(ws),
    closed: (ws) => inner.closed(ws),
    acknowledge(ws, id) {
      counts.acknowledged++;
      return inner.acknowledge(ws, id);
    },
  };
}
