// fanout-topic's exporter (WS_AUTH_EXPORTER): the auth mock's `{"user":{"email"}}` as the key `email`,
// and a grant to subscribe to every topic, so that v2 sockets may subscribe to the bench's topic.
export default function exporter(body: { user?: { email?: string } }): { keys: string[]; grants: { subscribe: string[]; publish: string[] } } {
  const email = body.user?.email;
  return { keys: typeof email === 'string' ? [email] : [], grants: { subscribe: ['*'], publish: [] } };
}
