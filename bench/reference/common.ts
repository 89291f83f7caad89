// Publish-body handling shared by the two reference servers, so they differ only in transport.
import { randomUUID } from 'node:crypto';

export const BASIC_AUTH = 'Basic ' + Buffer.from('bench:bench').toString('base64');
export const MAX_BATCH = 1000;

/** A message for a key, or (`topic` true, fanout-topic) for the topic named `key`. */
export interface PubMessage { readonly key: string; readonly value: unknown; readonly topic: boolean }
export interface PubResult { id: string; delivered: number; held: number }

/** Parses `{key,value}` or `{messages:[...]}`; returns undefined for anything else (→ 400). */
export function parsePublish(body: string): { batch: boolean; messages: PubMessage[] } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const obj = parsed as Record<string, unknown>;
  if (Array.isArray(obj.messages)) {
    if (obj.messages.length === 0 || obj.messages.length > MAX_BATCH) return undefined;
    const messages: PubMessage[] = [];
    for (const m of obj.messages as unknown[]) {
      const one = asMessage(m);
      if (one === undefined) return undefined;
      messages.push(one);
    }
    return { batch: true, messages };
  }
  const one = asMessage(obj);
  return one === undefined ? undefined : { batch: false, messages: [one] };
}

function asMessage(m: unknown): PubMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const { key, topic, value } = m as Record<string, unknown>;
  if (value === undefined) return undefined;
  if (typeof topic === 'string' && topic !== '' && key === undefined) return { key: topic, value, topic: true };
  if (typeof key !== 'string' || key === '') return undefined;
  return { key, value, topic: false };
}

/** The gateway's frame, built once per message whatever the number of receivers. */
export function buildFrame(value: unknown): { id: string; frame: string } {
  const id = randomUUID();
  return { id, frame: `{"id":"${id}","payload":${JSON.stringify(value)}}` };
}

/** A topic message as Octoway writes it to a v2 socket (history off: no seq), so both sides send the same bytes. */
export function buildTopicFrame(topic: string, value: unknown): { id: string; frame: string } {
  const id = randomUUID();
  return { id, frame: `{"type":"message","id":"${id}","topic":${JSON.stringify(topic)},"payload":${JSON.stringify(value)}}` };
}

export function responseBody(batch: boolean, results: PubResult[]): string {
  return batch ? JSON.stringify({ results }) : JSON.stringify(results[0]);
}

export function portFromEnv(): number {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set');
  return port;
}

/** The key a socket is kept under: `key` of its query string, as the auth mock would answer. */
export function keyFromUrl(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : (new URLSearchParams(url.slice(q + 1)).get('key') ?? '');
}
