import { EventLoopLag } from '../src/grpc/event-loop-lag';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

describe('EventLoopLag', () => {
  it('reads how late the loop ran since the last read: about 0 when idle, the blocking time when blocked', async () => {
    const lag = new EventLoopLag();
    try {
      await sleep(100);
      const idle = lag.read();
      // A loop blocked 40 ms at a time, over and over: timers fire about 40 ms late.
      for (let i = 0; i < 10; i++) {
        busy(40);
        await sleep(1);
      }
      const blocked = lag.read();
      expect(idle).toBeLessThan(blocked);
      expect(blocked).toBeGreaterThan(20);
      // Each read starts a new reading.
      await sleep(100);
      expect(lag.read()).toBeLessThan(blocked);
    } finally {
      lag.stop();
    }
  });
});
