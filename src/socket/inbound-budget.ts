// The per-socket bound on inbound frames: a token bucket, kept as two small integers in the
// socket's SocketData (no timer, no object per socket). A client may send `burst` frames at once
// and `framesPerSecond` on average; past that it is abusing the gateway (each frame is parsed, and
// an acknowledgement is a store call), and the caller closes it.
import type { SocketData } from '../delivery/hub.js';

export interface InboundLimits {
  readonly framesPerSecond: number;
  readonly burst: number;
}

/** Counts one frame against the socket's bucket; false when the bucket is empty. `now` is in whole
 * seconds (nowSeconds()), so the bucket refills once a second: coarse, but integers only. */
export function takeInboundFrame(data: Pick<SocketData, 'inboundSpent' | 'inboundAt'>, limits: InboundLimits, now: number): boolean {
  if (now !== data.inboundAt) {
    data.inboundSpent = Math.max(0, data.inboundSpent - (now - data.inboundAt) * limits.framesPerSecond);
    data.inboundAt = now;
  }
  return ++data.inboundSpent <= limits.burst;
}
