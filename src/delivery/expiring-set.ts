// Backend message_ids remembered for a while (idempotent publish). A Map in insertion order that
// grows only as ids arrive: lru-cache preallocates arrays of its `max`, which at WS_MAX_HELD was
// tens of megabytes before a single id was seen. Past `max` ids the oldest remembered is forgotten.

export class ExpiringSet {
  readonly #expiresAt = new Map<string, number>();
  readonly #max: number;
  /** Where the last sweep stopped, so each sweep does bounded work however many ids there are. */
  #cursor: Iterator<[string, number]> | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#expiresAt.size;
  }

  /** False when `id` is already remembered and unexpired; otherwise remembers it for `ttlMs`. */
  add(id: string, ttlMs: number, now = Date.now()): boolean {
    const expiresAt = this.#expiresAt.get(id);
    if (expiresAt !== undefined && expiresAt > now) return false;
    this.#expiresAt.delete(id); // re-added at the end: insertion order stays remembering order
    this.#expiresAt.set(id, now + Math.max(1, ttlMs));
    if (this.#expiresAt.size > this.#max) this.#expiresAt.delete(this.#expiresAt.keys().next().value as string);
    return true;
  }

  delete(id: string): void {
    this.#expiresAt.delete(id);
  }

  /** Forgets up to `budget` expired ids, continuing where the previous sweep stopped. */
  sweep(budget: number, now = Date.now()): void {
    for (let i = 0; i < budget; i++) {
      this.#cursor ??= this.#expiresAt.entries();
      const next = this.#cursor.next();
      if (next.done === true) {
        this.#cursor = undefined;
        return;
      }
      const [id, expiresAt] = next.value;
      if (expiresAt <= now) this.#expiresAt.delete(id);
    }
  }
}
