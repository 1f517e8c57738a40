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
  const open = new Map<string, number>();
  return {
    acquire(address) {
      const count = open.get(address) ?? 0;
      if (count >= max) return false;
      open.set(address, count + 1);
      return true;
    },
    release(address) {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    },
    get addresses() {
      return open.size;
    },
  };
}
