// Bounded concurrency for many small filesystem calls: enough in flight to keep libuv's thread
// pool busy, never so many that memory or file descriptors run out.

export class Limiter {
  private active = 0;
  // a queue read by index: Array.shift() is O(n) and walks queue every entry at once
  private waiting: Array<() => void> = [];
  private head = 0;

  constructor(readonly concurrency: number) {
    if (!(concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${concurrency}`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.head < this.waiting.length ? this.waiting[this.head++] : undefined;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Map over items with at most `concurrency` calls in flight, results in input order.
 * Workers pull the next index, so one slow item never stalls the others.
 */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
