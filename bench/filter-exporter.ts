// fanout-filter's exporter (WS_AUTH_EXPORTER): the auth mock's `{"user":{"email","role"}}` as the
// key `email` and the claim `role`, so that a filter on `role` has claims to match.
export default function exporter(body: { user?: { email?: string; role?: string } }): { keys: string[]; claims?: Record<string, unknown> } {
  const user = body.user ?? {};
  const keys = typeof user.email === 'string' ? [user.email] : [];
  return typeof user.role === 'string' ? { keys, claims: { role: user.role } } : { keys };
}
