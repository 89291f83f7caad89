// The memory store's entries (one per message and key), packed: typed arrays in a ring indexed by a
// sequence number, bytes in a ByteLog, and per key a linked list threaded through the ring. About
// 40 bytes of metadata per entry, no JS object per message, nothing preallocated beyond what is held.
// Sequence order is publish order, so the ring's head is the oldest entry overall and each key's list
// is oldest first. Removing an entry only marks it dead; the head skips dead entries, and when dead
// ones left behind a long-lived head outnumber the live, compact() rebuilds ring and bytes.
import { ByteLog, CHUNK_BYTES } from './byte-log.js';

const DEAD = -1;
const MIN_CAPACITY = 1024;

/** What an entry stores besides its key: where its bytes are and its two times. */
export interface EntryData {
  readonly position: number;
  readonly length: number;
  readonly idLength: number;
  readonly flags: number;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export class HeldRing {
  bytes = new ByteLog();
  /** Sequence numbers of the oldest entry still in the ring and of the next one. */
  head = 0;
  tail = 0;
  /** Live entries. */
  live = 0;
  /** Bytes of the live entries, counting a message held for several keys once per key: an upper
   * bound on the bytes a compaction would keep. */
  liveBytes = 0;
  #mask = MIN_CAPACITY - 1;
  /** Key id, or DEAD once removed. */
  #key = new Int32Array(MIN_CAPACITY).fill(DEAD);
  /** Distance to the next entry of the same key; 0 for the key's last. */
  #next = new Uint32Array(MIN_CAPACITY);
  #flags = new Uint8Array(MIN_CAPACITY);
  #length = new Uint32Array(MIN_CAPACITY);
  #idLength = new Uint32Array(MIN_CAPACITY);
  #position = new Float64Array(MIN_CAPACITY);
  #createdAt = new Float64Array(MIN_CAPACITY);
  #expiresAt = new Float64Array(MIN_CAPACITY);
  readonly keys = new KeyTable();

  isLive(seq: number): boolean {
    return this.#key[seq & this.#mask] !== DEAD;
  }
  keyOf(seq: number): number {
    return this.#key[seq & this.#mask] as number;
  }
  expiresAt(seq: number): number {
    return this.#expiresAt[seq & this.#mask] as number;
  }
  data(seq: number): EntryData {
    const i = seq & this.#mask;
    return {
      position: this.#position[i] as number, length: this.#length[i] as number, idLength: this.#idLength[i] as number,
      flags: this.#flags[i] as number, createdAt: this.#createdAt[i] as number, expiresAt: this.#expiresAt[i] as number,
    };
  }

  /** The key's entries, oldest first, dead ones included; `visit` may kill the entry it is given. */
  forEachOfKey(keyId: number, visit: (seq: number) => void): void {
    if (this.keys.count[keyId] === 0) return;
    const last = this.keys.tail[keyId] as number;
    for (let seq = this.keys.head[keyId] as number; ; ) {
      const step = this.#next[seq & this.#mask] as number;
      visit(seq);
      if (seq === last || step === 0) return;
      seq += step;
    }
  }

  /** Appends an entry for `keyId` (bytes already written) and returns its sequence number. */
  push(keyId: number, entry: EntryData): number {
    if (this.tail - this.head > this.#mask) this.#resize(2 * (this.#mask + 1));
    const seq = this.tail++;
    this.#write(seq, keyId, entry);
    this.#link(keyId, seq);
    this.live++;
    this.liveBytes += entry.length;
    return seq;
  }

  /** Marks an entry dead; forgets its key once that key has no live entry. */
  kill(seq: number): void {
    const i = seq & this.#mask;
    const keyId = this.#key[i] as number;
    if (keyId === DEAD) return;
    this.#key[i] = DEAD;
    this.live--;
    this.liveBytes -= this.#length[i] as number;
    const keys = this.keys;
    if (--(keys.count[keyId] as number) === 0) keys.release(keyId);
    else if (keys.head[keyId] === seq) {
      // Keep each key's head live, so per-key drops are O(1) and the ring head never passes a
      // dead entry that a key still starts from.
      let s = seq;
      while (this.#key[s & this.#mask] === DEAD) s += this.#next[s & this.#mask] as number;
      keys.head[keyId] = s;
    }
    this.#skipDead();
  }

  /** Dead entries beyond the live ones: what compact() would reclaim. */
  get dead(): number {
    return this.tail - this.head - this.live;
  }

  /** Rebuilds ring and bytes with the live entries only, in the same order. */
  compact(): void {
    const old = { ring: this.#snapshot(), bytes: this.bytes, head: this.head, tail: this.tail };
    this.bytes = new ByteLog();
    this.#allocate(capacityFor(this.live));
    this.head = this.tail = 0;
    this.keys.count.fill(0);
    // Live bytes are copied in runs (consecutive entries' bytes are usually adjacent), not one by one:
    // [runStart, runEnd) in the old log goes to runBase in the new one.
    let runStart = 0;
    let runEnd = 0;
    let runBase = 0;
    for (let seq = old.head; seq < old.tail; seq++) {
      const i = seq & old.ring.mask;
      const keyId = old.ring.key[i] as number;
      if (keyId === DEAD) continue;
      const position = old.ring.position[i] as number;
      const length = old.ring.length[i] as number;
      // Inside the run: bytes shared with the previous entry (one message held for several keys).
      if (position < runStart || position + length > runEnd) {
        if (position === runEnd) runEnd += length;
        else {
          this.bytes.appendFrom(old.bytes, runStart, runEnd - runStart);
          runStart = position;
          runEnd = position + length;
          runBase = this.bytes.end;
        }
      }
      const to = this.tail++;
      const j = to & this.#mask;
      this.#key[j] = keyId;
      this.#next[j] = 0;
      this.#flags[j] = old.ring.flags[i] as number;
      this.#length[j] = length;
      this.#idLength[j] = old.ring.idLength[i] as number;
      this.#position[j] = runBase + (position - runStart);
      this.#createdAt[j] = old.ring.createdAt[i] as number;
      this.#expiresAt[j] = old.ring.expiresAt[i] as number;
      this.#link(keyId, to);
    }
    this.bytes.appendFrom(old.bytes, runStart, runEnd - runStart);
  }

  #write(seq: number, keyId: number, entry: EntryData): void {
    const i = seq & this.#mask;
    this.#key[i] = keyId;
    this.#next[i] = 0;
    this.#flags[i] = entry.flags;
    this.#length[i] = entry.length;
    this.#idLength[i] = entry.idLength;
    this.#position[i] = entry.position;
    this.#createdAt[i] = entry.createdAt;
    this.#expiresAt[i] = entry.expiresAt;
  }

  #link(keyId: number, seq: number): void {
    const keys = this.keys;
    if (keys.count[keyId] === 0) keys.head[keyId] = seq;
    else this.#next[(keys.tail[keyId] as number) & this.#mask] = seq - (keys.tail[keyId] as number);
    keys.tail[keyId] = seq;
    (keys.count[keyId] as number)++;
  }

  #skipDead(): void {
    while (this.head < this.tail && this.#key[this.head & this.#mask] === DEAD) this.head++;
    this.bytes.trim(this.head < this.tail ? (this.#position[this.head & this.#mask] as number) : this.bytes.end);
  }

  /** Compacts when dead entries outnumber the live, when bytes held only by dead entries outweigh
   * the live ones, or when the ring is mostly empty capacity: each compaction then costs at most
   * what was removed since the last, O(1) per removal. Never call it while walking a key (it
   * renumbers entries). */
  maintain(): boolean {
    const capacity = this.#mask + 1;
    const sparse = capacity > MIN_CAPACITY * 64 && capacity > 8 * this.live;
    const wasted = this.bytes.allocated > 2 * this.liveBytes + 2 * CHUNK_BYTES;
    if (this.dead <= this.live && !wasted && !sparse) return false;
    this.compact();
    return true;
  }

  #resize(capacity: number): void {
    const old = this.#snapshot();
    this.#allocate(capacity);
    for (let seq = this.head; seq < this.tail; seq++) {
      const from = seq & old.mask;
      const to = seq & this.#mask;
      this.#key[to] = old.key[from] as number;
      this.#next[to] = old.next[from] as number;
      this.#flags[to] = old.flags[from] as number;
      this.#length[to] = old.length[from] as number;
      this.#idLength[to] = old.idLength[from] as number;
      this.#position[to] = old.position[from] as number;
      this.#createdAt[to] = old.createdAt[from] as number;
      this.#expiresAt[to] = old.expiresAt[from] as number;
    }
  }

  #snapshot() {
    return {
      mask: this.#mask, key: this.#key, next: this.#next, flags: this.#flags, length: this.#length,
      idLength: this.#idLength, position: this.#position, createdAt: this.#createdAt, expiresAt: this.#expiresAt,
    };
  }

  #allocate(capacity: number): void {
    this.#mask = capacity - 1;
    this.#key = new Int32Array(capacity).fill(DEAD);
    this.#next = new Uint32Array(capacity);
    this.#flags = new Uint8Array(capacity);
    this.#length = new Uint32Array(capacity);
    this.#idLength = new Uint32Array(capacity);
    this.#position = new Float64Array(capacity);
    this.#createdAt = new Float64Array(capacity);
    this.#expiresAt = new Float64Array(capacity);
  }
}

/** Keys by small integer id: name, first and last entry, live entry count. */
class KeyTable {
  readonly #ids = new Map<string, number>();
  readonly #free: number[] = [];
  names: Array<string | undefined> = [];
  head = new Float64Array(64);
  tail = new Float64Array(64);
  count = new Uint32Array(64);

  idOf(name: string): number | undefined {
    return this.#ids.get(name);
  }

  acquire(name: string): number {
    const known = this.#ids.get(name);
    if (known !== undefined) return known;
    const id = this.#free.pop() ?? this.names.length;
    if (id >= this.count.length) this.#grow();
    this.names[id] = name;
    this.count[id] = 0;
    this.#ids.set(name, id);
    return id;
  }

  release(id: number): void {
    this.#ids.delete(this.names[id] as string);
    this.names[id] = undefined;
    this.#free.push(id);
  }

  get size(): number {
    return this.#ids.size;
  }

  /** Live keys as [id, name]. */
  *entries(): IterableIterator<[number, string]> {
    for (const [name, id] of this.#ids) yield [id, name];
  }

  #grow(): void {
    const grown = <T extends Float64Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.head = grown(this.head);
    this.tail = grown(this.tail);
    this.count = grown(this.count);
  }
}

function capacityFor(live: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < live * 2) capacity *= 2;
  return capacity;
}
