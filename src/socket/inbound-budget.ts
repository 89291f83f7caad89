// The per-socket bound on inbound frames: a token bucket, kept as two small integers in the
// socket's Connection record (no timer, no object per socket). A client may send `burst` frames at once
// and `framesPerSecond` on average; past that it is abusing the gateway (each frame is parsed, and
// an acknowledgement is a store call), and the caller closes it.
//
// Held messages are the exception the bucket cannot know about: a socket that connects to a backlog
// (up to WS_MAX_HELD_PER_KEY per key) gets it in one burst, and a Goctopus client acknowledges each
// message as it arrives. So every frame written to a socket when it goes live is credited to it
// (creditSyncFrames): one inbound frame free of the bucket, and one more acknowledgement allowed in
// flight. An honest client answering its backlog is never closed; an abuser gains at most the
// backlog the operator let be held for its keys, and the bucket applies again once it is spent.
import type { Connection } from './connection.js';

export interface InboundLimits {
  readonly framesPerSecond: number;
  readonly burst: number;
}

/** Counts one frame against the socket's credit, else its bucket; false when both are empty. `now`
 * is in whole seconds (nowSeconds()), so the bucket refills once a second: coarse, but integers only. */
export function takeInboundFrame(data: Pick<Connection, 'inboundSpent' | 'inboundAt' | 'inboundCredit'>, limits: InboundLimits, now: number): boolean {
  // Refilled first, also for a frame the credit pays for, so inboundAt is always the second of the
  // socket's last frame (GET /connections' last_seen). The refill depends on the time elapsed only,
  // and a credited frame spends nothing, so refilling earlier leaves the same bucket.
  if (now !== data.inboundAt) {
    data.inboundSpent = refillBucket(data.inboundSpent, data.inboundAt, limits, now);
    data.inboundAt = now;
  }
  if (data.inboundCredit > 0) {
    data.inboundCredit--;
    return true;
  }
  return ++data.inboundSpent <= limits.burst;
}

/** A token bucket's spent count at `now` (whole seconds) after refilling at `framesPerSecond` since
 * `at`: the one refill of the inbound, client-publish and refused-frame buckets. */
export function refillBucket(spent: number, at: number, limits: InboundLimits, now: number): number {
  return now === at ? spent : Math.max(0, spent - (now - at) * limits.framesPerSecond);
}

/** Credits `frames` frames just written to the socket as it went live (its held messages and the
 * live ones queued meanwhile), each of which the client may answer at once. The acknowledgement
 * credit is kept as a lower start for acksInFlight, so the dispatcher's cap (WS_MAX_ACKS_IN_FLIGHT)
 * becomes, for this socket, that cap plus the frames credited: answers to the backlog may all wait
 * for the store together, and what they hold is bounded by the backlog itself. */
export function creditSyncFrames(data: Pick<Connection, 'inboundCredit' | 'acksInFlight'>, frames: number): void {
  data.inboundCredit += frames;
  data.acksInFlight -= frames;
}
