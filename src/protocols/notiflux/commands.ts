// notiflux's text commands, parsed as its session.rs does: the frame trimmed (Rust's
// White_Space), ignored unless it starts with `/`, split once on the first space into the command
// and the rest; `/subscribe`'s rest split on every single space into exactly a topic and a token.
// The server's only answers are two texts; everything else, success included, is silent.

export const INVALID_SUBSCRIBE = 'Invalid subscribe command, it should be: /subscribe <topic> <token>';
export const UNKNOWN_COMMAND = 'Unknown command';

export type NotifluxCommand =
  /** Subscribe if `token` is valid, of scope subscribe and lists `topic`; silent either way. */
  | { readonly type: 'subscribe'; readonly topic: string; readonly token: string }
  /** `topic` is everything after the first space, spaces included. */
  | { readonly type: 'unsubscribe'; readonly topic: string }
  | { readonly type: 'unsubscribe-all' }
  /** Send `text` back as a text frame. */
  | { readonly type: 'reply'; readonly text: typeof INVALID_SUBSCRIBE | typeof UNKNOWN_COMMAND }
  /** Not a command (no leading `/`): no answer. */
  | { readonly type: 'ignored' };

/** Rust's char::is_whitespace (Unicode White_Space): not JavaScript's trim, which takes U+FEFF
 * and leaves U+0085. */
const RUST_TRIM = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

const IGNORED: NotifluxCommand = Object.freeze({ type: 'ignored' });
const UNKNOWN: NotifluxCommand = Object.freeze({ type: 'reply', text: UNKNOWN_COMMAND });
const INVALID: NotifluxCommand = Object.freeze({ type: 'reply', text: INVALID_SUBSCRIBE });
const UNSUBSCRIBE_ALL: NotifluxCommand = Object.freeze({ type: 'unsubscribe-all' });

/** One text frame as notiflux reads it (binary frames are ignored before this). */
export function parseCommand(frame: string): NotifluxCommand {
  const text = frame.replace(RUST_TRIM, '');
  if (!text.startsWith('/')) return IGNORED;
  const space = text.indexOf(' ');
  const command = space < 0 ? text : text.slice(0, space);
  const rest = space < 0 ? undefined : text.slice(space + 1);
  if (rest === undefined) return command === '/unsubscribe-all' ? UNSUBSCRIBE_ALL : UNKNOWN;
  if (command === '/subscribe') {
    const args = rest.split(' ');
    return args.length === 2 ? { type: 'subscribe', topic: args[0] as string, token: args[1] as string } : INVALID;
  }
  if (command === '/unsubscribe') return { type: 'unsubscribe', topic: rest };
  // `/unsubscribe-all x` and every other command.
  return UNKNOWN;
}
