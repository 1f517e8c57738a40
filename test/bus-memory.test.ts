import { createMemoryBus } from '../server/memory-bus.ts';
import { busContract } from './bus-contract.ts';

// One process is the whole site: its "n processes" are one bus.
busContract('in-process', async (n) => {
  const bus = createMemoryBus();
  return Array.from({ length: n }, () => bus);
});
