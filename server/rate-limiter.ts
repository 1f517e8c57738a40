// Per-user rate limit for posting: at most `limit` lines in any `windowMs`. Two
// kinds: one in memory, for the embedded store (one process), and one that
// counts the user's lines in MySQL, which every process writes, so that N
// processes do not allow N times the limit.

/** The post being counted: a line just reserved in the store. */
export interface RatedPost { userId: string; id: string }

/** A sliding-window limit per user. */
export interface RateLimiter {
  /** Counts `post` against its user: 0 if allowed, else the milliseconds until it would be. */
  take(post: RatedPost): Promise<number>;
  /** Stops any timer. */
  close(): void;
}

/** In memory: each user costs a few timestamps; users idle for a window are swept. */
export function createRateLimiter(limit: number, windowMs: number, now: () => number = Date.now): RateLimiter {
  const events = new Map<string, number[]>();
  const sweep = setInterval(() => {
    const oldest = now() - windowMs;
    for (const [key, times] of events) if (times[times.length - 1]! <= oldest) events.delete(key);
  }, Math.max(windowMs, 1000));
  sweep.unref();
  return {
    async take({ userId }) {
      const t = now();
      let times = events.get(userId);
      if (!times) events.set(userId, (times = []));
      while (times.length > 0 && times[0]! <= t - windowMs) times.shift();
      if (times.length >= limit) return times[0]! + windowMs - t;
      times.push(t);
      return 0;
    },
    close: () => {
      clearInterval(sweep);
    },
  };
}

/**
 * The times, oldest first, of the user's lines (shown or still reserved) made
 * after `since` whose ids order before `beforeId`.
 */
export type EarlierPostTimes = (userId: string, beforeId: string, since: number) => Promise<number[]>;

/**
 * Counted in the store every process writes. A post is allowed if fewer than
 * `limit` of its user's lines precede it in the window; a refused post's line
 * is discarded and so stops counting. Its own line is stored before it counts,
 * so of two posts racing on two processes the later one sees the earlier,
 * unless it counts in the instant before the earlier one's line is stored:
 * then both may pass, one over the limit.
 */
export function createSharedRateLimiter(limit: number, windowMs: number, earlierPostTimes: EarlierPostTimes, now: () => number = Date.now): RateLimiter {
  return {
    async take(post) {
      const t = now();
      const times = await earlierPostTimes(post.userId, post.id, t - windowMs);
      if (times.length < limit) return 0;
      // Allowed once all but limit - 1 of them have left the window.
      return Math.max(1, times[times.length - limit]! + windowMs - t);
    },
    close: () => {},
  };
}
