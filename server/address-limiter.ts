// Counts open subscriptions per client address and refuses past a limit, so that
// one client cannot hold every socket the server has.

export interface AddressLimiter {
  /** Takes a place for `address`; false when it holds as many as allowed. */
  acquire(address: string): boolean;
  /** Gives back a place taken by acquire(); call it once per successful acquire. */
  release(address: string): void;
  /** Addresses holding places now (for tests and /status). */
  readonly addresses: number;
}

export function createAddressLimiter(max: number): AddressLimiter {
  // A counter object per address: one lookup per acquire or release, which every poll makes.
  const open = new Map<string, { count: number }>();
  return {
    acquire(address) {
      const places = open.get(address);
      if (!places) {
        if (max < 1) return false;
        open.set(address, { count: 1 });
        return true;
      }
      if (places.count >= max) return false;
      places.count++;
      return true;
    },
    release(address) {
      const places = open.get(address);
      if (places && --places.count <= 0) open.delete(address);
    },
    get addresses() {
      return open.size;
    },
  };
}
