// dSock's API on Octoway's parts: claims are tickets of the dSock listener's own store, /send
// publishes live to a user's or session's topic (or one connection over the control plane), and
// /disconnect and /info ask every node through the control plane. Answers and parameter checks are
// answers.ts's; this module only does what needs the store, the dispatcher or the other nodes.
import { MAX_PAGE, type ConnectionView, type ControlPlane, type ControlTarget } from '../../control/control.js';
import { topicAddress } from '../../delivery/address.js';
import { encodeFrame } from '../../delivery/conditions.js';
import type { Dispatcher } from '../../delivery/dispatcher.js';
import { frameOf, newMessageId, type Message } from '../../delivery/message.js';
import { OctowayError } from '../../errors.js';
import type { TicketStore } from '../../identity/ticket-store.js';
import type { Logger } from '../../log.js';
import {
  claimAnswer, dsockError, generateClaimId, infoAnswer, parseClaim, parseDisconnect, parseInfo, parseSend, SUCCESS,
  type ClaimsOf, type DsockAnswer, type DsockClaim, type DsockConnection, type DsockTarget,
} from './answers.js';

export const DSOCK_APP = 'dsock';

/** The latest claim expiration accepted (9999-12-31T23:59:59Z, in unix seconds): dSock has no bound,
 * but past it a claim's expiry in milliseconds would no longer be an exact integer in Redis scores
 * and Lua. Later ones are INVALID_EXPIRATION. (Octoway's own tickets stop at 365 days; dSock's
 * claims may outlive that: its e2e makes one for 2038.) */
export const MAX_CLAIM_EXPIRATION_S = 253_402_300_799;

/**
 * The topics a dSock socket is on: one for its user, one for its user and session. Topics, not the
 * user's and session's holdable addresses: a /send is live only (dSock never holds), and a topic
 * subscription is made on the socket's own node as it opens, so a /send made on any node once the
 * 101 is out reaches it (a holdable address would first need its presence in Redis, written after).
 * JSON arrays keep a user "a" with session "b" apart from any user name.
 */
export function userTopic(user: string): string {
  return topicAddress(DSOCK_APP, JSON.stringify([user]));
}

export function sessionTopic(user: string, session: string): string {
  return topicAddress(DSOCK_APP, JSON.stringify([user, session]));
}

export interface DsockApiParts {
  readonly tickets: TicketStore;
  readonly control: ControlPlane;
  readonly dispatcher: Dispatcher;
  readonly log: Logger;
}

export interface DsockApi {
  claim(query: string): Promise<DsockAnswer>;
  /** Resolves once the message is handed to the delivery engine (dSock answers after its PUBLISH). */
  send(query: string, body: Buffer): DsockAnswer | Promise<DsockAnswer>;
  disconnect(query: string): Promise<DsockAnswer>;
  info(query: string): Promise<DsockAnswer>;
}

const controlTarget = (target: DsockTarget): ControlTarget => (target.kind === 'connection'
  ? { kind: 'connection', app: DSOCK_APP, id: target.id }
  : { kind: 'user', app: DSOCK_APP, user: target.user, session: target.session });

/** dSock's 500 for a failed lookup of the target. */
const lookupFailed = (target: DsockTarget): DsockAnswer => dsockError(target.kind === 'connection' ? 'ERROR_GETTING_CONNECTION' : 'ERROR_GETTING_USER', 500);

export function createDsockApi({ tickets, control, dispatcher, log }: DsockApiParts): DsockApi {
  const storeFailed = (err: unknown, what: string): void => log.warn({ err, listener: DSOCK_APP }, what);

  /** Every matching connection on every node, whatever its page size (ids strictly increase). */
  const connectionsOf = async (target: ControlTarget): Promise<ConnectionView[]> => {
    const byId = new Map<string, ConnectionView>();
    let after = '';
    for (;;) {
      const gathered = await control.ask({ op: 'connections', target, after, limit: MAX_PAGE });
      let next: string | undefined;
      for (const answer of gathered.answers) {
        if (answer.op !== 'connections') continue;
        for (const view of answer.connections) byId.set(view.id, view);
        const last = answer.connections.at(-1)?.id;
        if (answer.more && last !== undefined && (next === undefined || last < next)) next = last;
      }
      if (next === undefined) return [...byId.values()];
      after = next;
    }
  };

  const claimsOf = async (of: ClaimsOf): Promise<DsockClaim[]> => {
    if (of === undefined) return [];
    const found = await tickets.list(of.user, of.session);
    return found.map((t) => ({ id: t.id, expiration: Math.floor(t.expiresAt / 1000), user: t.user, session: t.session }));
  };

  return {
    async claim(query) {
      const parsed = parseClaim(query);
      if (!('ok' in parsed)) return parsed;
      if (parsed.expiration > MAX_CLAIM_EXPIRATION_S) return dsockError('INVALID_EXPIRATION');
      const claim: DsockClaim = { id: parsed.id ?? generateClaimId(), expiration: parsed.expiration, user: parsed.user, session: parsed.session };
      try {
        await tickets.create({ id: claim.id, user: claim.user, session: claim.session, keys: [], claims: undefined, expiresAt: claim.expiration * 1000 });
      } catch (err) {
        if (err instanceof OctowayError && err.code === 'TICKET_ID_TAKEN') return dsockError('CLAIM_ID_ALREADY_USED');
        if (err instanceof OctowayError && err.code === 'TICKETS_FULL') return dsockError('TOO_MANY_CLAIMS', 503);
        storeFailed(err, 'could not store a dSock claim');
        return dsockError('ERROR_CHECKING_CLAIM', 500);
      }
      return claimAnswer(claim);
    },

    send(query, body) {
      const parsed = parseSend(query);
      if (!('ok' in parsed)) return parsed;
      const { target } = parsed;
      const id = newMessageId();
      const frame = parsed.binary ? encodeFrame('', { binary: body }) : frameOf(id, body.toString('utf8'));
      // Live only (expireMs 0): dSock drops a message for a target with no socket.
      const message: Message = target.kind === 'connection'
        ? { id, keys: [], connection: { app: DSOCK_APP, id: target.id }, frame, createdAt: Date.now(), expireMs: 0, expire: '0', idempotent: false }
        : {
          id, keys: [], topics: [target.session === undefined ? userTopic(target.user) : sessionTopic(target.user, target.session)],
          frame, createdAt: Date.now(), expireMs: 0, expire: '0', idempotent: false,
        };
      if (dispatcher.publishNow(message) !== undefined) return SUCCESS;
      return dispatcher.publish(message).then(() => SUCCESS, (err: unknown) => {
        storeFailed(err, 'could not publish a dSock message');
        return lookupFailed(target);
      });
    },

    async disconnect(query) {
      const parsed = parseDisconnect(query);
      if (!('ok' in parsed)) return parsed;
      try {
        // dSock's close: 1000, no reason.
        await control.ask({ op: 'disconnect', target: controlTarget(parsed.target), code: 1000, reason: '' });
      } catch (err) {
        storeFailed(err, 'could not disconnect dSock sockets');
        return lookupFailed(parsed.target);
      }
      if (parsed.dropClaimsOf !== undefined) {
        try {
          await tickets.remove(parsed.dropClaimsOf.user, parsed.dropClaimsOf.session);
        } catch (err) {
          storeFailed(err, 'could not remove dSock claims');
          return dsockError('ERROR_GETTING_CLAIM', 500);
        }
      }
      return SUCCESS;
    },

    async info(query) {
      const parsed = parseInfo(query);
      if (!('ok' in parsed)) return parsed;
      let claims: DsockClaim[];
      try {
        claims = await claimsOf(parsed.claimsOf);
      } catch (err) {
        storeFailed(err, 'could not list dSock claims');
        return dsockError('ERROR_GETTING_CLAIM', 500);
      }
      let views: ConnectionView[];
      try {
        views = await connectionsOf(controlTarget(parsed.target));
      } catch (err) {
        storeFailed(err, 'could not list dSock connections');
        return lookupFailed(parsed.target);
      }
      const connections: DsockConnection[] = views.map((v) => ({ id: v.id, worker: v.node, lastPing: v.connected_at, user: v.user ?? '', session: v.session ?? undefined }));
      return infoAnswer(connections, claims);
    },
  };
}
