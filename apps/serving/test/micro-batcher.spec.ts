import { status } from '@grpc/grpc-js';
import { MicroBatcher } from '../src/batching/micro-batcher';
import { DomainError } from '../src/domain/errors';
import { toGrpcError } from '../src/grpc/errors';

/** A call's outcome as the client sees it: the batcher throws domain errors, the edge maps them. */
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof DomainError ? status[toGrpcError(e).code] : String(e)),
  );

describe('MicroBatcher', () => {
  it('groups concurrent inputs into one batch and maps outputs back in order', async () => {
    const batches: number[][] = [];
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>(
      (xs) => {
        batches.push(xs);
        return xs.map((x) => x * 10);
      },
      { maxBatchSize: 8, maxWaitMs: 20, maxQueue: 100, onBatch: (n) => sizes.push(n) },
    );
    const out = await Promise.all([1, 2, 3].map((x) => b.submit(x)));
    expect(out).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(sizes).toEqual([3]);
  });

  it('never exceeds the maximum batch size', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>((xs) => (batches.push(xs), xs), {
      maxBatchSize: 4,
      maxWaitMs: 5,
      maxQueue: 100,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit(i)));
    expect(batches.map((x) => x.length)).toEqual([4, 4, 2]);
    expect(batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('processes inputs one by one when the batch size is 1 (batching off)', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>((xs) => (batches.push(xs), xs), {
      maxBatchSize: 1,
      maxWaitMs: 0,
      maxQueue: 100,
    });
    await Promise.all([1, 2, 3].map((x) => b.submit(x)));
    expect(batches).toEqual([[1], [2], [3]]);
  });

  it('refuses inputs beyond the queue bound with RESOURCE_EXHAUSTED', async () => {
    const b = new MicroBatcher<number, number>((xs) => xs, { maxBatchSize: 10, maxWaitMs: 30, maxQueue: 2 });
    const codes = await Promise.all([1, 2, 3, 4].map((x) => codeOf(b.submit(x))));
    expect(codes).toEqual(['OK', 'OK', 'RESOURCE_EXHAUSTED', 'RESOURCE_EXHAUSTED']);
  });

  it('drops inputs whose deadline passed while waiting, without running them', async () => {
    const seen: number[] = [];
    const b = new MicroBatcher<number, number>((xs) => (seen.push(...xs), xs), {
      maxBatchSize: 10,
      maxWaitMs: 30,
      maxQueue: 10,
    });
    const codes = await Promise.all([codeOf(b.submit(1, Date.now() + 5)), codeOf(b.submit(2))]);
    expect(codes).toEqual(['DEADLINE_EXCEEDED', 'OK']);
    expect(seen).toEqual([2]);
  });

  it('rejects every input of a failed batch with the handler error', async () => {
    const b = new MicroBatcher<number, number>(
      () => {
        throw new Error('boom');
      },
      { maxBatchSize: 10, maxWaitMs: 1, maxQueue: 10 },
    );
    const codes = await Promise.all([codeOf(b.submit(1)), codeOf(b.submit(2))]);
    expect(codes).toEqual(['Error: boom', 'Error: boom']);
  });

  it('close() finishes queued work, then refuses new inputs with UNAVAILABLE', async () => {
    const b = new MicroBatcher<number, number>((xs) => xs, { maxBatchSize: 10, maxWaitMs: 20, maxQueue: 10 });
    const pending = b.submit(7);
    await b.close();
    await expect(pending).resolves.toBe(7);
    expect(await codeOf(b.submit(8))).toBe('UNAVAILABLE');
  });

  describe('abandoned calls', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    /** A batcher whose batches take `ms` each; `seen` collects what the handler was given. */
    const slow = (ms: number, maxQueue: number) => {
      const seen: number[] = [];
      const b = new MicroBatcher<number, number>(
        async (xs) => {
          seen.push(...xs);
          await sleep(ms);
          return xs;
        },
        { maxBatchSize: 4, maxWaitMs: 1, maxQueue },
      );
      return { b, seen };
    };

    it('64 callers with 5 ms deadlines do not fill the queue: a live call is admitted and their work is never done', async () => {
      const { b, seen } = slow(40, 64);
      const busy = b.submit(0); // occupies the batcher for 40 ms
      await sleep(5);
      const dead = Array.from({ length: 64 }, (_, i) => codeOf(b.submit(100 + i, Date.now() + 5)));
      await sleep(15);
      // The old queue refused this with "adaptation queue is full".
      const live = b.submit(1, Date.now() + 5000);
      expect(await live).toBe(1);
      expect(new Set(await Promise.all(dead))).toEqual(new Set(['DEADLINE_EXCEEDED']));
      await busy;
      expect(seen.filter((x) => x >= 100)).toEqual([]);
    });

    it('a cancelled call leaves the queue at once (CANCELLED) and is never adapted', async () => {
      const { b, seen } = slow(30, 8);
      const busy = b.submit(0);
      await sleep(5);
      const controllers = Array.from({ length: 8 }, () => new AbortController());
      const cancelled = controllers.map((c, i) => codeOf(b.submit(100 + i, Infinity, c.signal)));
      expect(b.queued).toBe(8);
      for (const c of controllers) c.abort();
      expect(b.queued).toBe(0);
      expect(new Set(await Promise.all(cancelled))).toEqual(new Set(['CANCELLED']));
      expect(await b.submit(1)).toBe(1);
      await busy;
      expect(seen).toEqual([0, 1]);
      // Already cancelled on arrival: refused without queueing.
      const gone = new AbortController();
      gone.abort();
      expect(await codeOf(b.submit(2, Infinity, gone.signal))).toBe('CANCELLED');
    });

    it('admission uses the remaining deadline: a call that cannot be served in time is refused on arrival', async () => {
      const { b, seen } = slow(50, 100);
      await b.submit(0); // one batch measured: ~50 ms
      const started = Date.now();
      const err = await codeOf(b.submit(7, Date.now() + 10));
      expect(err).toBe('DEADLINE_EXCEEDED');
      expect(Date.now() - started).toBeLessThan(10);
      expect(await b.submit(8, Date.now() + 2000)).toBe(8);
      expect(seen).toEqual([0, 8]);
    });
  });
});
