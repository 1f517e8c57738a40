// Per-user rate limit for posting: at most `limit` lines in any `windowMs`.
// Each user costs a few timestamps; users idle for a window are swept.

/** A sliding-window limit per key (a user id). */
export interface RateLimiter {
  /** Counts one event for `key`: 0 if allowed, else the milliseconds until it would be. */
  take(key: string): number;
  /** Stops the sweep timer. */
  close(): void;
}

/** At most `limit` events per key in any `windowMs`; close() stops the sweep. */
export function createRateLimiter(limit: number, windowMs: number, now: () => number = Date.now): RateLimiter {
  const events = new Map<string, number[]>();
  const sweep = setInterval(() => {
    const oldest = now() - windowMs;
    for (const [key, times] of events) if (times[times.length - 1]! <= oldest) events.delete(key);
  }, Math.max(windowMs, 1000));
  sweep.unref();
  return {
    take(key) {
      const t = now();
      let times = events.get(key);
      if (!times) events.set(key, (times = []));
      while (times.length > 0 && times[0]! <= t - windowMs) times.shift();
      if (times.length >= limit) return times[0]! + windowMs - t;
      times.push(t);
      return 0;
    },
    close: () => clearInterval(sweep),
  };
}
