// Counts open subscriptions per client address and refuses past a limit, so that
// one client cannot hold every socket the server has.

export interface AddressLimiter {
  /** Takes a place for `address`; false when it holds as many as allowed. */
  acquire(address: string): boolean;
  /** Gives back a place taken by acquire(); call it once per successful acquire. */
  release(address: string): void;
  /** Addresses holding places now (for tests; counted when asked, so acquire and release keep no total). */
  readonly addresses: number;
  /** Addresses with a counter kept: those holding places, and those that held some since the last sweep. */
  readonly tracked: number;
  /** Stops the sweep timer. */
  close(): void;
}

const SWEEP_INTERVAL_MS = 30_000;

/**
 * An address's counter stays, at zero, until the next sweep. A poll answered
 * at once takes its place and gives it back in one go; deleting the counter
 * each time made the Map shrink and grow again, and a long-lived Map's new
 * table is made in the old generation: a server behind on its polls made
 * 5 MB/s of old garbage this way and a full collection every two seconds
 * (BENCHMARKS.md, session 10).
 */
export function createAddressLimiter(max: number, sweepMs = SWEEP_INTERVAL_MS): AddressLimiter {
  // A counter object per address: one lookup per acquire or release, which every poll makes.
  const open = new Map<string, { count: number }>();
  const sweep = setInterval(() => {
    for (const [address, places] of open) if (places.count === 0) open.delete(address);
  }, sweepMs);
  sweep.unref();
  return {
    acquire(address) {
      let places = open.get(address);
      if (!places) {
        if (max < 1) return false;
        open.set(address, (places = { count: 0 }));
      }
      if (places.count >= max) return false;
      places.count++;
      return true;
    },
    release(address) {
      const places = open.get(address);
      if (places && places.count > 0) places.count--;
    },
    get addresses() {
      let holding = 0;
      for (const places of open.values()) if (places.count > 0) holding++;
      return holding;
    },
    get tracked() {
      return open.size;
    },
    close: () => clearInterval(sweep),
  };
}
