// An app's view of the one namespace (delivery/address.ts): the API of app X builds every address
// it publishes to or reads with X, and its listings show X's keys only, by name. The default app's
// keys are their own addresses, so its view costs nothing on the publish path.
import { keyAddress, parseAddress, sessionAddress, topicAddress, userAddress } from '../delivery/address.js';
import type { Message } from '../delivery/message.js';
import { DEFAULT_APP } from '../socket/connection.js';

/** The key `address` names when it is a routing key of `app`; undefined for any other address
 * (another app's key, a topic, a user, a session). */
export function keyNameIn(app: string, address: string): string | undefined {
  const plain = address.charCodeAt(0) !== 0;
  if (app === DEFAULT_APP) return plain ? address : undefined;
  if (plain) return undefined;
  const parsed = parseAddress(address);
  return parsed.kind === 'key' && parsed.app === app ? parsed.name : undefined;
}

/** The message with its keys and topics as `app`'s addresses (parsePublish builds the default
 * app's); the same object in the default app. */
export function inApp(app: string, message: Message): Message {
  if (app === DEFAULT_APP) return message;
  const keys = message.keys.map((key) => inAppAddress(app, key));
  const connection = message.connection === undefined ? undefined : { app, id: message.connection.id };
  const scoped = connection === undefined ? { ...message, keys } : { ...message, keys, connection };
  if (message.topics === undefined) return scoped;
  return { ...scoped, topics: message.topics.map((topic) => topicAddress(app, parseAddress(topic).name)) };
}

/** A default-app address (a key, a user's or a session's) as the same name's address in `app`. */
function inAppAddress(app: string, address: string): string {
  if (address.charCodeAt(0) !== 0) return keyAddress(app, address);
  const parsed = parseAddress(address);
  if (parsed.kind === 'user') return userAddress(app, parsed.name);
  if (parsed.kind === 'session') return sessionAddress(app, parsed.name, parsed.session as string);
  return address;
}
