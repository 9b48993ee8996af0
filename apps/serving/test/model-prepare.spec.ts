/**
 * A version takes traffic only once prepared (ModelManager's `prepare`: the server encodes the
 * active catalog for it): it becomes current, and listeners (health, metrics) hear of it, only
 * after preparation ends; a failed preparation counts as a failed load and the version is freed.
 */
import pino from 'pino';
import type { ModelRuntime, ServingModel } from '../src/ports/model-runtime.port';
import type { StorePort } from '../src/ports/store.port';
import { ModelManager } from '../src/slots/model-manager';
import type { ModelSlot } from '../src/slots/model-slot';

const ITEMS = [
  { id: 'a', features: {}, status: 'active' as const },
  { id: 'b', features: {}, status: 'active' as const },
];

function fakeModel(ref: { modelId: string; version: number }) {
  const state = { disposed: false };
  const user = { score: () => new Float32Array([0.1, 0.2]), dispose: () => undefined };
  const model = {
    ref,
    ratingRange: [1, 5] as const,
    adapt: () => [user],
    encodeItems: () => ({ dispose: () => undefined }),
    scoreMany: () => [new Float32Array([0.1, 0.2])],
    dispose: () => (state.disposed = true),
  };
  return { model: model as unknown as ServingModel, state };
}

function setUp(
  prepare: (model: ServingModel) => Promise<void>,
  rehearse?: (slot: ModelSlot) => Promise<void>,
) {
  const loaded: ReturnType<typeof fakeModel>[] = [];
  const store = {
    registry: { getPromoted: async () => ({ modelId: 'm1', version: 1, artifactUri: 'm1' }) },
    activeItems: async () => ({ items: ITEMS }),
  } as unknown as StorePort;
  const runtime: ModelRuntime = {
    load: async (_dir, ref) => {
      const made = fakeModel(ref);
      loaded.push(made);
      return made.model;
    },
  };
  const manager = new ModelManager(
    store,
    runtime,
    {
      artifactsRoot: '/artifacts',
      pollIntervalMs: 0,
      batching: { maxBatchSize: 1, maxWaitMs: 0, maxQueue: 16 },
      prepare,
      ...(rehearse ? { rehearse } : {}),
    },
    pino({ level: 'silent' }),
  );
  return { manager, loaded };
}

describe('ModelManager prepare', () => {
  it('makes a version current, and tells listeners, only after it is prepared', async () => {
    let finish!: () => void;
    const prepared: ServingModel[] = [];
    const { manager, loaded } = setUp(async (model) => {
      prepared.push(model);
      await new Promise<void>((r) => (finish = r));
    });
    const heard: unknown[] = [];
    manager.onChange((ref) => heard.push(ref));
    const starting = manager.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(prepared).toEqual([loaded[0]?.model]);
    expect(manager.current).toBeUndefined();
    expect(heard).toEqual([]);
    finish();
    await starting;
    expect(manager.current).toEqual({ modelId: 'm1', version: 1 });
    expect(heard).toEqual([{ modelId: 'm1', version: 1 }]);
    await manager.stop();
  });

  it('counts a failed preparation as a failed load and frees the version', async () => {
    const { manager, loaded } = setUp(async () => {
      throw new Error('store unreachable');
    });
    await manager.start();
    expect(manager.current).toBeUndefined();
    expect(manager.failures({ modelId: 'm1', version: 1 })).toBe(1);
    expect(loaded[0]?.state.disposed).toBe(true);
    await manager.stop();
  });

  it('rehearses a prepared version on its own slot before it becomes current', async () => {
    const seen: { ref: unknown; current: unknown }[] = [];
    const { manager } = setUp(
      async () => undefined,
      async (slot) => {
        seen.push({ ref: slot.ref, current: manager.current });
      },
    );
    await manager.start();
    expect(seen).toEqual([{ ref: { modelId: 'm1', version: 1 }, current: undefined }]);
    expect(manager.current).toEqual({ modelId: 'm1', version: 1 });
    await manager.stop();
  });

  it('serves a version whose rehearsal failed (it passed verification)', async () => {
    const { manager, loaded } = setUp(
      async () => undefined,
      async () => {
        throw new Error('rehearsal broke');
      },
    );
    await manager.start();
    expect(manager.current).toEqual({ modelId: 'm1', version: 1 });
    expect(manager.failures({ modelId: 'm1', version: 1 })).toBe(0);
    expect(loaded[0]?.state.disposed).toBe(false);
    await manager.stop();
  });
});
