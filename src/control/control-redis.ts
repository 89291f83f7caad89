// The control plane over the Redis bus: a request is one PUBLISH on the bus channel, which every
// node (this one included: it answers through the bus like the others) receives and answers with a
// reply addressed to the asking node. PUBLISH returns how many subscribers received the request,
// so the asking node knows how many replies to wait for; it waits at most `timeoutMs`, then answers
// with what it got and counts the rest as unanswered. A node that answers late has still acted (a
// disconnect it received closes its sockets); only its count is missing.
// Redis Cluster: PUBLISH counts the subscribers of the one server that ran it, not the cluster's, so
// there the asking node cannot know how many will answer: it waits the whole timeout and reports
// `unanswered` as unknown.
// During a rolling upgrade an older node receives requests (and is counted) but ignores them, so it
// is reported unanswered after the timeout (bus-envelope.ts).
import { randomBytes } from 'node:crypto';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisConnection } from '../redis/connect.js';
import { controlEnvelope, readControl, readRoute } from '../redis/bus-envelope.js';
import type { AnswerLocally, ControlPlane, ControlRequest, Gathered, NodeAnswer } from './control.js';

export interface RedisControlOptions {
  readonly connection: RedisConnection;
  /** The bus channel (Keyspace.channel), which the broker's subscriber is subscribed to. */
  readonly channel: string;
  readonly answer: AnswerLocally;
  readonly timeoutMs: number;
  /** Why the bus cannot carry a request now (the broker's unavailable()), else undefined. */
  readonly unavailable: () => string | undefined;
  readonly log: Logger;
}

interface Pending {
  readonly answers: NodeAnswer[];
  /** PUBLISH's count once known; undefined before, and always under Cluster. */
  expected: number | undefined;
  readonly finish: () => void;
}

const OPS: ReadonlySet<string> = new Set(['disconnect', 'connections', 'presence', 'send']);

export function createRedisControl(options: RedisControlOptions): ControlPlane {
  const { connection, channel, answer, timeoutMs, log } = options;
  const { client, subscriber, cluster } = connection;
  /** This node's name on the bus for control replies: random per process. */
  const self = randomBytes(6).toString('hex');
  const pending = new Map<string, Pending>();
  let closed = false;

  const reply = (to: string, rid: string, result: NodeAnswer): void => {
    client.publish(channel, controlEnvelope('reply', { rid, answer: result }, to)).catch((err: unknown) => {
      log.warn({ err }, 'could not send a control reply; the asking node counts this one unanswered');
    });
  };

  const onRequest = (body: unknown): void => {
    const { rid, from, request } = (body ?? {}) as { rid?: unknown; from?: unknown; request?: { op?: unknown; target?: unknown } };
    if (typeof rid !== 'string' || typeof from !== 'string' || typeof request?.op !== 'string' || !OPS.has(request.op) || typeof request.target !== 'object') {
      log.warn('malformed control request on the bus; ignored');
      return;
    }
    let result: NodeAnswer;
    try {
      result = answer(request as ControlRequest);
    } catch (err) {
      log.error({ err, op: request.op }, 'could not answer a control request');
      return;
    }
    reply(from, rid, result);
  };

  const onReply = (body: unknown): void => {
    const { rid, answer: result } = (body ?? {}) as { rid?: unknown; answer?: NodeAnswer };
    const waiting = typeof rid === 'string' ? pending.get(rid) : undefined;
    // Unknown: a reply after its timeout. Ignored: its node was counted unanswered.
    if (waiting === undefined || typeof result !== 'object' || result === null) return;
    waiting.answers.push(result);
    if (waiting.expected !== undefined && waiting.answers.length >= waiting.expected) waiting.finish();
  };

  const onMessage = (from: string, text: string): void => {
    // Publishes (the common case) are the broker's. Every version 1 envelope starts with '@', so the
    // character check drops only version 0 publishes: each publish still costs this listener one
    // route read (readRoute's allocation-free prefix check for a publish to every node).
    if (from !== channel || text.charCodeAt(0) !== 64) return;
    const route = readRoute(text, self);
    if (route.kind === 'disconnect' || route.kind === 'query') onRequest(readControl(text, route.body));
    else if (route.kind === 'reply') onReply(readControl(text, route.body));
  };
  subscriber.on('message', onMessage);

  return {
    ask(request) {
      const why = closed ? 'shutting down' : options.unavailable();
      if (why !== undefined) return Promise.reject(new OctowayError('CONTROL_UNAVAILABLE', `the control bus is unavailable: ${why}`, { retryAfter: 1 }));
      const rid = randomBytes(8).toString('hex');
      const kind = request.op === 'disconnect' ? 'disconnect' : 'query';
      return new Promise<Gathered>((resolve, reject) => {
        const answers: NodeAnswer[] = [];
        const finish = (): void => {
          if (!pending.delete(rid)) return;
          clearTimeout(timer);
          const unanswered = entry.expected === undefined ? (cluster ? undefined : 0) : Math.max(0, entry.expected - answers.length);
          resolve({ answers, unanswered });
        };
        const entry: Pending = { answers, expected: undefined, finish };
        pending.set(rid, entry);
        const timer = setTimeout(finish, timeoutMs);
        client.publish(channel, controlEnvelope(kind, { rid, from: self, request })).then(
          (receivers) => {
            if (cluster) return; // one server's count, not the cluster's: wait for the timeout
            if (receivers === 0) {
              // Not even this node's subscriber got it: the bus is down here.
              pending.delete(rid);
              clearTimeout(timer);
              reject(new OctowayError('CONTROL_UNAVAILABLE', 'the control bus is unavailable: no node is subscribed', { retryAfter: 1 }));
              return;
            }
            entry.expected = receivers;
            if (answers.length >= receivers) finish();
          },
          (err: unknown) => {
            pending.delete(rid);
            clearTimeout(timer);
            reject(new OctowayError('CONTROL_UNAVAILABLE', 'the control bus is unavailable: redis refused the request', { retryAfter: 1, cause: err }));
          },
        );
      });
    },

    close() {
      closed = true;
      subscriber.off('message', onMessage);
      for (const waiting of [...pending.values()]) waiting.finish();
    },
  };
}
