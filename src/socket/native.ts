// Octoway's native protocol, version 2 (docs/protocol.md): the welcome frame and the client frames of
// a socket that negotiated `octoway.v2`. One handler per frame type; each turns its frame into the
// core's operations (subscribe, publish, acknowledge) and answers with a frame echoing the client's
// `ref`. A refused frame is answered with `{"type":"error","code","message"[,"ref"]}` and changes
// nothing; refused frames have a budget of their own, and a socket past it is closed (1008).
import { topicAddress, parseAddress } from '../delivery/address.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { Hub } from '../delivery/hub.js';
import type { History } from '../delivery/history.js';
import { recoverTopic } from '../delivery/recovery.js';
import { sinceOf } from './since.js';
import { frameOf, newMessageId, type Message } from '../delivery/message.js';
import { isValidKey } from '../delivery/routing-key.js';
import { OctowayError, type ErrorCode } from '../errors.js';
import { granted } from '../identity/jwt-grants.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../http/json-depth.js';
import type { Logger } from '../log.js';
import { connectionId, nowSeconds, type NativeState, type Socket } from './connection.js';
import { refillBucket, type InboundLimits } from './inbound-budget.js';
import type { Refresher } from './refresh.js';

/** Refused frames a socket may send at once, and per second on average, before it is closed:
 * a client with a bug gets its errors; one looping on them does not keep the gateway busy. */
const REFUSED_FRAMES: InboundLimits = { framesPerSecond: 5, burst: 20 };
const MAX_REF_LENGTH = 200;
const MAX_ACK_ID_LENGTH = 512;

export interface NativeOptions {
  readonly hub: Hub;
  /** The streams' history, for `since` (delivery/recovery.ts); undefined when WS_HISTORY_SIZE is 0. */
  readonly history?: History | undefined;
  readonly dispatcher: Dispatcher;
  /** Answers refresh frames; undefined without JWT verification. */
  readonly refresh: Refresher | undefined;
  /** WS_CLIENT_PUBLISH_RATE and WS_CLIENT_PUBLISH_BURST. */
  readonly publish: InboundLimits;
  /** WS_MAX_TOPICS_PER_SOCKET: topics one socket may be subscribed to at once. Each costs the socket a
   * Set entry and its address string, and the hub an entry per distinct topic (uWS keeps one name
   * per topic): client-chosen memory, so bounded per socket. */
  readonly maxTopics: number;
  /** Closes the socket with 1008 and the reason (behavior.ts's closeAbuser). */
  readonly closeAbuser: (ws: Socket, reason: string) => void;
  readonly log: Logger;
}

type Frame = Readonly<Record<string, unknown>>;
type Ref = string | number | undefined;

export interface Native {
  /** The welcome frame, written as the socket opens, before anything else. */
  welcome(ws: Socket): void;
  /** One client frame (its bytes, already counted against WS_MAX_INBOUND_RATE). */
  receive(ws: Socket, message: ArrayBuffer): void;
}

export function createNative(options: NativeOptions): Native {
  const { hub, dispatcher, refresh, history, log } = options;

  /** Replies are not messages: a socket still receiving its held messages gets them at once. */
  const write = (ws: Socket, body: Record<string, unknown>): void => {
    const data = ws.getUserData();
    if (data.closed) return;
    if (data.pending === undefined) hub.send(ws, JSON.stringify(body));
    else ws.send(JSON.stringify(body), false);
  };
  const reply = (ws: Socket, ref: Ref, body: Record<string, unknown>): void => write(ws, ref === undefined ? body : { ...body, ref });

  /** A client fault: answered with an error frame and charged against the refused-frame budget. */
  const refuse = (ws: Socket, ref: Ref, error: OctowayError): void => {
    const data = ws.getUserData();
    // A socket already closed has no state left in the hub (hub.remove): nothing to charge or answer.
    const state = hub.nativeOf(ws);
    if (state === undefined || data.closed) return;
    const now = nowSeconds();
    state.errorSpent = refillBucket(state.errorSpent, state.errorAt, REFUSED_FRAMES, now) + 1;
    state.errorAt = now;
    if (state.errorSpent > REFUSED_FRAMES.burst) return options.closeAbuser(ws, 'too many refused frames');
    if (log.isLevelEnabled('debug')) log.debug({ conn: connectionId(data), code: error.code }, 'v2 frame refused');
    reply(ws, ref, { type: 'error', code: error.code, message: error.message });
  };
  /** A server fault (the store or bus failed): an error frame only. It never spends the client's
   * refused-frame budget, so an outage does not close well-behaved clients with the terminal 1008.
   * It may arrive after the socket closed (an async publish): then nothing is written. */
  const fail = (ws: Socket, ref: Ref, err: unknown): void => {
    const error = asOctowayError(err);
    // Not one of ours: a bug, answered INTERNAL_ERROR and logged (its type and message, never the message published).
    if (!(err instanceof OctowayError)) log.error({ conn: connectionId(ws.getUserData()), type: (err as Error)?.name, reason: String((err as Error)?.message).slice(0, 200) }, 'v2 publish failed');
    reply(ws, ref, { type: 'error', code: error.code, message: error.message });
  };
  const refusal = (code: ErrorCode, message?: string): OctowayError => new OctowayError(code, message);
  const tooManyTopics = (): OctowayError => refusal('TOO_MANY_TOPICS', `a socket may subscribe to at most ${options.maxTopics} topics at once (WS_MAX_TOPICS_PER_SOCKET)`);
  /** Every socket handed to this module speaks v2: the hub holds its state from hub.add on. */

  const topicsOf = (frame: Frame): string[] | OctowayError => {
    const { topic, topics } = frame;
    const all: unknown[] = [];
    if (topic !== undefined) all.push(topic);
    if (topics !== undefined) {
      if (!Array.isArray(topics)) return refusal('TOPIC_INVALID');
      all.push(...(topics as unknown[]));
    }
    if (all.length === 0) return refusal('TOPIC_INVALID');
    if (all.length > options.maxTopics) return tooManyTopics();
    for (const t of all) if (!isValidKey(t)) return refusal('TOPIC_INVALID');
    return [...new Set(all as string[])];
  };

  const handlers: Record<string, (ws: Socket, frame: Frame, ref: Ref) => void> = {
    subscribe(ws, frame, ref) {
      const data = ws.getUserData();
      const topics = topicsOf(frame);
      if (topics instanceof OctowayError) return refuse(ws, ref, topics);
      const denied = topics.find((t) => !granted(data.identity.grants.subscribe, t));
      if (denied !== undefined) return refuse(ws, ref, refusal('TOPIC_FORBIDDEN', `the socket's grants do not allow subscribing to ${JSON.stringify(denied.slice(0, 200))}`));
      const since = frame.since === undefined ? undefined : sinceOf(frame.since, topics);
      if (since instanceof OctowayError) return refuse(ws, ref, since);
      const state = stateOf(hub, ws);
      // Subscribed already, or being recovered: nothing more to do (the first subscribe's since holds).
      const fresh = topics.filter((t) => !state.subscribed.has(topicAddress(data.app, t)) && state.recovering?.has(topicAddress(data.app, t)) !== true);
      if (state.subscribed.size + fresh.length > options.maxTopics) return refuse(ws, ref, tooManyTopics());
      // The answer first: then, per topic with `since`, its gap or missed messages, then live ones.
      reply(ws, ref, { type: 'subscribed', topics });
      for (const t of fresh) {
        const from = since?.get(t);
        const address = topicAddress(data.app, t);
        if (from === undefined || history === undefined) hub.subscribe(ws, address);
        else {
          (state.recovering ??= new Set()).add(address);
          recoverTopic({ hub, history, log }, ws, address, from, () => state.recovering?.delete(address) === true)
            .catch((err: unknown) => log.error({ err }, 'could not recover a topic stream'));
        }
      }
    },

    unsubscribe(ws, frame, ref) {
      const data = ws.getUserData();
      const topics = topicsOf(frame);
      if (topics instanceof OctowayError) return refuse(ws, ref, topics);
      for (const t of topics) {
        hub.unsubscribe(ws, topicAddress(data.app, t));
        hub.nativeOf(ws)?.recovering?.delete(topicAddress(data.app, t));
      }
      reply(ws, ref, { type: 'unsubscribed', topics });
    },

    'unsubscribe-all'(ws, _frame, ref) {
      const native = hub.nativeOf(ws);
      const addresses = native === undefined ? [] : [...native.subscribed, ...(native.recovering ?? [])];
      native?.recovering?.clear();
      for (const address of addresses) hub.unsubscribe(ws, address);
      reply(ws, ref, { type: 'unsubscribed', topics: addresses.map((a) => parseAddress(a).name) });
    },

    publish(ws, frame, ref) {
      const data = ws.getUserData();
      const { topic } = frame;
      if (!isValidKey(topic)) return refuse(ws, ref, refusal('TOPIC_INVALID'));
      if (!granted(data.identity.grants.publish, topic)) return refuse(ws, ref, refusal('PUBLISH_TOPIC_FORBIDDEN', `the socket's grants do not allow publishing to ${JSON.stringify(topic.slice(0, 200))}`));
      if (frame.data === undefined || frame.data === null) return refuse(ws, ref, refusal('PUBLISH_DATA_MISSING'));
      const { framesPerSecond, burst } = options.publish;
      if (framesPerSecond === 0) return refuse(ws, ref, refusal('PUBLISH_RATE_LIMITED', 'client publishes are off (WS_CLIENT_PUBLISH_RATE=0)'));
      const state = stateOf(hub, ws);
      const now = nowSeconds();
      // Counted even when refused: a client that goes on regardless is closed past twice the burst.
      state.publishSpent = refillBucket(state.publishSpent, state.publishAt, options.publish, now) + 1;
      state.publishAt = now;
      if (state.publishSpent > 2 * burst) return options.closeAbuser(ws, 'client publish rate exceeded');
      if (state.publishSpent > burst) return refuse(ws, ref, refusal('PUBLISH_RATE_LIMITED'));
      const id = newMessageId();
      const message: Message = {
        id, keys: [], topics: [topicAddress(data.app, topic)], frame: frameOf(id, frame.data), createdAt: Date.now(),
        expireMs: 0, expire: '0', idempotent: false, from: connectionId(data), ...(frame.echo === true ? {} : { exclude: ws }),
      };
      const answer = (): void => {
        if (ref !== undefined) reply(ws, ref, { type: 'published', id });
      };
      try {
        if (dispatcher.publishNow(message) !== undefined) return answer();
      } catch (err) {
        return fail(ws, ref, err);
      }
      dispatcher.publish(message).then(answer, (err: unknown) => fail(ws, ref, err));
    },

    ack(ws, frame, ref) {
      const { id } = frame;
      if (typeof id !== 'string' || id === '' || id.length > MAX_ACK_ID_LENGTH) return refuse(ws, ref, refusal('ACK_INVALID'));
      if (!dispatcher.acknowledge(ws, id)) options.closeAbuser(ws, 'too many acknowledgements in flight');
    },

    refresh(ws, frame, ref) {
      if (refresh === undefined) return refuse(ws, ref, refusal('REFRESH_NOT_EXPIRING'));
      refresh(ws, frame);
    },
  };

  return {
    welcome(ws) {
      const data = ws.getUserData();
      const { identity } = data;
      ws.send(JSON.stringify({
        type: 'welcome', connection: connectionId(data), user: identity.subject ?? null, session: identity.session ?? null,
        keys: identity.keys, grants: identity.grants, time: Date.now(),
      }), false);
    },

    receive(ws, message) {
      const bytes = new Uint8Array(message);
      const frame = nestsDeeperThan(bytes, MAX_JSON_DEPTH) ? undefined : parseObject(Buffer.from(bytes).toString('utf8'));
      if (frame === undefined) return refuse(ws, undefined, refusal('FRAME_INVALID'));
      const { ref, type } = frame;
      const validRef = ref === undefined || (typeof ref === 'string' && ref.length <= MAX_REF_LENGTH) || (typeof ref === 'number' && Number.isFinite(ref));
      if (!validRef || typeof type !== 'string') return refuse(ws, validRef ? ref as Ref : undefined, refusal('FRAME_INVALID'));
      const handler = Object.hasOwn(handlers, type) ? handlers[type] : undefined;
      if (handler === undefined) return refuse(ws, ref as Ref, refusal('FRAME_UNKNOWN_TYPE'));
      handler(ws, frame, ref as Ref);
    },
  };
}

/** A socket's v2 (or seed protocol) topic state, kept by the hub for every socket not speaking
 * Goctopus's protocol (hub.opening). */
export function stateOf(hub: Hub, ws: Socket): NativeState {
  return hub.nativeOf(ws) as NativeState;
}

function parseObject(text: string): Frame | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Frame;
  } catch {
    // Not JSON: answered with FRAME_INVALID by the caller.
  }
  return undefined;
}

function asOctowayError(err: unknown): OctowayError {
  return err instanceof OctowayError ? err : new OctowayError('INTERNAL_ERROR');
}
