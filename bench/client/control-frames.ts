// The v2 frames a load client gets besides messages, read whole (they come once per socket, never per message).
/** v2 frames other than messages: `welcome` (ignored), `subscribed` (counted), anything else a failure. */
export class ControlFrames {
  private subscribed = 0;
  private readonly problems: string[] = [];
  private waiter: { n: number; resolve: () => void } | undefined;

  onFrame(index: number, text: string): void {
    if (text.startsWith('{"type":"welcome"')) return;
    if (text.startsWith('{"type":"subscribed"')) {
      if (++this.subscribed >= (this.waiter?.n ?? Infinity)) this.waiter?.resolve();
      return;
    }
    if (this.problems.length < 5) this.problems.push(`socket ${index}: ${text.slice(0, 200)}`);
    else this.problems.length++;
  }

  waitSubscribed(n: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.subscribed} of ${n} sockets subscribed after ${timeoutMs} ms${this.text()}`)), timeoutMs);
      this.waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
      if (this.subscribed >= n) this.waiter.resolve();
    });
  }

  verify(): void {
    if (this.problems.length > 0) throw new Error(`unexpected v2 frames${this.text()}`);
  }

  private text(): string {
    return this.problems.length === 0 ? '' : `; ${this.problems.length} unexpected frames, e.g. ${this.problems.slice(0, 3).join(' | ')}`;
  }
}
