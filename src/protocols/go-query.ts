// Query strings as Go's net/url reads them (gin's c.Query, net/http's r.Form): what dSock and
// Philote saw for the same URL, which URLSearchParams does not always agree with.

/** The first value of `name` in `query` as Go's url.ParseQuery reads it: pairs split on `&`, a pair
 * holding `;` or a bad %-escape skipped, `+` a space. */
export function goQueryValue(query: string, name: string): string | undefined {
  for (const pair of (query.startsWith('?') ? query.slice(1) : query).split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = goUnescape(eq < 0 ? pair : pair.slice(0, eq));
    const value = goUnescape(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    if (key === name) return value;
  }
  return undefined;
}

function goUnescape(text: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    // Valid escapes of bytes that are not UTF-8: Go keeps the bytes; as text they are U+FFFD.
    return Buffer.from(text.replace(/\+/g, ' ').replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
}
