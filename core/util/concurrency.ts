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

/** Like mapLimit, but after the first failure no new item starts and every running one finishes. */
export async function settleLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { e: unknown } | null = null;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= { e };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw (failure as { e: unknown }).e;
}

/** Whether process `pid` is running (one we may not signal counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
