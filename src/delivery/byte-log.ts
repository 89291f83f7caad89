// An append-only log of bytes in 1 MiB chunks, addressed by absolute position. The memory store
// keeps held frames here as UTF-8 instead of as JS strings: no per-message heap object, no GC
// marking of a million strings, and no rope strings from JSON.stringify kept alive.
// Chunks behind the oldest position still in use are released by trim(); holes in the middle are
// left to the owner, which rebuilds the log (memory-store.ts, compaction) when they add up.

export const CHUNK_BYTES = 1 << 20;

export class ByteLog {
  /** chunks[i] holds positions [(firstChunk + i) * CHUNK_BYTES, … + CHUNK_BYTES). */
  #chunks: Buffer[] = [];
  #firstChunk = 0;
  /** The next position to write. */
  #end = 0;

  get end(): number {
    return this.#end;
  }

  /** Bytes held by the chunks still allocated. */
  get allocated(): number {
    return this.#chunks.length * CHUNK_BYTES;
  }

  /** Appends `text` encoded as UTF-8 (or hex digits as bytes); returns how many bytes were
   * written, at the position `end` had. */
  append(text: string, encoding: 'utf8' | 'hex' = 'utf8'): number {
    const offset = this.#end % CHUNK_BYTES;
    const room = CHUNK_BYTES - offset;
    // A UTF-8 byte per UTF-16 unit at best, three at worst: write in place when it surely fits.
    if (text.length * 3 <= room) {
      const written = this.#chunkAt(this.#end).write(text, offset, encoding);
      this.#end += written;
      return written;
    }
    return this.appendBytes(Buffer.from(text, encoding));
  }

  appendBytes(bytes: Uint8Array): number {
    let done = 0;
    while (done < bytes.length) {
      const offset = this.#end % CHUNK_BYTES;
      const n = Math.min(bytes.length - done, CHUNK_BYTES - offset);
      this.#chunkAt(this.#end).set(bytes.subarray(done, done + n), offset);
      done += n;
      this.#end += n;
    }
    return bytes.length;
  }

  /** Appends the bytes at [position, position + length) of another log, chunk to chunk (no
   * intermediate Buffer: compaction calls this once per run of live bytes). */
  appendFrom(source: ByteLog, position: number, length: number): void {
    let done = 0;
    while (done < length) {
      const from = (position + done) % CHUNK_BYTES;
      const to = this.#end % CHUNK_BYTES;
      const n = Math.min(length - done, CHUNK_BYTES - from, CHUNK_BYTES - to);
      source.#chunkAt(position + done).copy(this.#chunkAt(this.#end), to, from, from + n);
      done += n;
      this.#end += n;
    }
  }

  /** The bytes at [position, position + length) decoded as UTF-8 (or as hex digits). */
  text(position: number, length: number, encoding: 'utf8' | 'hex' = 'utf8'): string {
    const offset = position % CHUNK_BYTES;
    if (offset + length <= CHUNK_BYTES) return this.#chunkAt(position).toString(encoding, offset, offset + length);
    return Buffer.from(this.bytes(position, length)).toString(encoding);
  }

  /** The bytes at [position, position + length): a view when they sit in one chunk, else a copy. */
  bytes(position: number, length: number): Uint8Array {
    const offset = position % CHUNK_BYTES;
    if (offset + length <= CHUNK_BYTES) return this.#chunkAt(position).subarray(offset, offset + length);
    const out = Buffer.allocUnsafe(length);
    for (let done = 0; done < length;) {
      const at = position + done;
      const o = at % CHUNK_BYTES;
      const n = Math.min(length - done, CHUNK_BYTES - o);
      out.set(this.#chunkAt(at).subarray(o, o + n), done);
      done += n;
    }
    return out;
  }

  /** Releases every chunk wholly before `position`: nothing there is read again. */
  trim(position: number): void {
    const keepFrom = Math.min(Math.floor(position / CHUNK_BYTES), Math.floor(this.#end / CHUNK_BYTES));
    const drop = keepFrom - this.#firstChunk;
    if (drop <= 0) return;
    this.#chunks.splice(0, Math.min(drop, this.#chunks.length));
    this.#firstChunk = keepFrom;
  }

  #chunkAt(position: number): Buffer {
    const index = Math.floor(position / CHUNK_BYTES) - this.#firstChunk;
    // Only the chunk being written to can be missing; allocUnsafeSlow: unpooled, exactly one chunk.
    while (index >= this.#chunks.length) this.#chunks.push(Buffer.allocUnsafeSlow(CHUNK_BYTES));
    return this.#chunks[index] as Buffer;
  }
}
