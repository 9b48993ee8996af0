import { status } from '@grpc/grpc-js';
import { MicroBatcher } from '../src/batching/micro-batcher';
import { ServingError } from '../src/grpc/errors';

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof ServingError ? status[e.code] : String(e)),
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
});
