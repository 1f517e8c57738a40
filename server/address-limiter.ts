// Counts open subscriptions per client address and refuses past a limit, so that
// one client cannot hold every socket the server has.

export interface AddressLimiter {
  /** Takes a place for `address`; the returned function gives it back (once). null: full. */
  acquire(address: string): (() => void) | null;
  /** Addresses holding places now (for tests and /status). */
  readonly addresses: number;
}

export function createAddressLimiter(max: number): AddressLimiter {
  const open = new Map<string, number>();
  return {
    acquire(address) {
      const count = open.get(address) ?? 0;
      if (count >= max) return null;
      open.set(address, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = open.get(address)! - 1;
        if (left === 0) open.delete(address);
        else open.set(address, left);
      };
    },
    get addresses() {
      return open.size;
    },
  };
}
