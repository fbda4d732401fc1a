/**
 * Bounded concurrency, shared by every layer (stores, workspace, pipeline, fsck, remotes).
 *
 * - mapLimit(items, n, fn): run fn over items with at most n in flight; the first rejection
 *   rejects the whole call (workers already running finish their current item).
 * - Limiter: a semaphore shared by several callers (e.g. one per S3 connection), with map()
 *   that settles every item before rejecting with the first error.
 */

/** Run `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
}

/** Run at most `n` tasks at once. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(readonly n: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Map over items with at most n in flight; rejects with the first error after all settle. */
  async map<T, R>(items: Iterable<T>, fn: (item: T) => Promise<R>): Promise<R[]> {
    const results = await Promise.allSettled([...items].map((it) => this.run(() => fn(it))));
    const bad = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (bad) throw bad.reason;
    return results.map((r) => (r as PromiseFulfilledResult<R>).value);
  }
}
