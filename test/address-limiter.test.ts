// The per-address subscription limit: places counted per address, refused past
// the limit, and counters at zero kept until a sweep rather than dropped and
// made again by every poll (a poll answered at once takes and gives back its
// place in one go).
import { afterEach, describe, expect, it } from 'vitest';
import { createAddressLimiter, type AddressLimiter } from '../server/address-limiter.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let limiter: AddressLimiter | undefined;
afterEach(() => limiter?.close());

describe('address limiter', () => {
  it('refuses an address past its limit and no other', () => {
    limiter = createAddressLimiter(2);
    expect([limiter.acquire('a'), limiter.acquire('a'), limiter.acquire('a')]).toEqual([true, true, false]);
    expect(limiter.acquire('b')).toBe(true);
    limiter.release('a');
    expect(limiter.acquire('a')).toBe(true);
    expect(limiter.addresses).toBe(2);
  });

  it('refuses every address with a limit of 0', () => {
    limiter = createAddressLimiter(0);
    expect(limiter.acquire('a')).toBe(false);
    expect(limiter.tracked).toBe(0);
  });

  it('keeps one counter for an address that takes and gives back its place over and over', () => {
    limiter = createAddressLimiter(10);
    for (let i = 0; i < 1000; i++) {
      expect(limiter.acquire('a')).toBe(true);
      limiter.release('a');
    }
    expect(limiter.addresses).toBe(0);
    expect(limiter.tracked).toBe(1);
    limiter.release('a'); // one too many gives back nothing
    expect(limiter.acquire('a')).toBe(true);
    expect(limiter.addresses).toBe(1);
  });

  it('sweeps the counters at zero, not those holding places', async () => {
    limiter = createAddressLimiter(10, 20);
    limiter.acquire('a');
    limiter.acquire('b');
    limiter.release('b');
    expect(limiter.tracked).toBe(2);
    await sleep(80);
    expect(limiter.tracked).toBe(1);
    expect(limiter.addresses).toBe(1);
  });

  it('sweeps no more once closed', async () => {
    limiter = createAddressLimiter(10, 20);
    limiter.acquire('a');
    limiter.release('a');
    limiter.close();
    await sleep(80);
    expect(limiter.tracked).toBe(1);
  });
});
