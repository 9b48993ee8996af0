/**
 * Before a version takes traffic the server answers Recommend in rehearsal (RecommendService
 * .rehearse): for stored users who interacted with active items, through the same store reads,
 * adaptation and ranking as a call, so the first callers do not pay one-time costs. A rehearsed
 * user's first call is then answered from the adapted-state cache, and the rehearsal writes
 * nothing to the store. At start-up one Recommend also runs through what surrounds the service
 * (request deserializer, controller, reply serializer) before the server listens.
 */
import pino from 'pino';
import { SERVICE_NAMES } from '@warmstart/contracts';
import { RecommendRequestDecoder, servingPackageDefinition } from '../src/grpc/recommend-decoding';
import { guardDeserializers } from '../src/grpc/decode-guard';
import { rehearseTransport } from '../src/grpc/transport-rehearsal';
import { REHEARSAL_ROUNDS } from '../src/recommend/recommend.service';
import type { FeatureStore } from '@warmstart/feature-store';
import { FeatureStoreAdapter } from '../src/adapters/feature-store-adapter';
import { recommend, startHarness, tempStore, type Harness } from './support/harness';
import { makeModel, seedWorld } from './support/world';

describe('rehearsal before a version takes traffic', () => {
  let h: Harness | undefined;
  let store: FeatureStore;
  let dispose: () => void;

  beforeEach(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    await store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
    await store.registry.promote('m1');
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    dispose();
  });

  /** The stored users the rehearsal picks: those of the first active items' latest interactions. */
  async function rehearsedUsers(): Promise<Set<string>> {
    const { items } = await store.activeItems({ limit: 16 });
    const rows = await store.itemInteractions(
      items.map((i) => i.id),
      { perItem: REHEARSAL_ROUNDS },
    );
    return new Set([...rows.values()].flat().map((r) => r.userId));
  }

  it('answers a rehearsed stored user from the cache on the first call, and writes nothing', async () => {
    const before = await store.interactionSequence();
    const users = await store.registry.listModels({ limit: 10 });
    h = await startHarness(store, { m1: () => makeModel(1) });
    const candidates = await rehearsedUsers();
    expect(candidates.size).toBeGreaterThan(0);
    const first = await Promise.all(
      [...candidates].map((userId) => recommend(h!, { user: { userId, features: {}, support: [] }, k: 3 })),
    );
    // Exactly the rehearsed users come from the cache; the others are adapted on their first call.
    expect(candidates.size).toBeGreaterThan(REHEARSAL_ROUNDS);
    expect(first.filter((r) => r.adaptedFromCache)).toHaveLength(REHEARSAL_ROUNDS);
    expect(first.filter((r) => !r.adaptedFromCache)).toHaveLength(candidates.size - REHEARSAL_ROUNDS);
    expect(await store.interactionSequence()).toBe(before);
    expect((await store.registry.listModels({ limit: 10 })).items).toEqual(users.items);
  });

  it('rehearses Recommend through the controller before listening, and writes nothing', async () => {
    const before = await store.interactionSequence();
    const lines: { msg?: string; ms?: number; level?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    h = await startHarness(store, { m1: () => makeModel(1) }, {}, { log });
    const messages = lines.map((l) => l.msg);
    const rehearsed = messages.indexOf('Recommend rehearsed through the controller');
    expect(rehearsed).toBeGreaterThanOrEqual(0);
    expect(rehearsed).toBeLessThan(messages.indexOf('warmstart-serve listening'));
    expect(lines.filter((l) => (l.level ?? 0) >= 40)).toEqual([]);
    expect(await store.interactionSequence()).toBe(before);
  });

  it('sends an inline user on two active items through the real deserializer, controller and serializer', async () => {
    const definition = guardDeserializers(servingPackageDefinition(new RecommendRequestDecoder(1 << 20)));
    const seen: unknown[] = [];
    const reply = {
      items: [{ itemId: 'i1', score: 4.5, coldItem: false }],
      supportSize: 2,
      adaptedFromCache: false,
    };
    const controller = {
      recommend: async (request: unknown) => {
        seen.push(request);
        return reply as never;
      },
    };
    const serialize = jest.spyOn(definition[SERVICE_NAMES.recommender]!['recommend']!, 'responseSerialize');
    const { items } = await store.activeItems({ limit: 2 });
    expect(await rehearseTransport(definition, controller, new FeatureStoreAdapter(store))).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      user: { userId: '', support: items.map((i) => ({ itemId: i.id, value: 1 })) },
      candidates: { source: { $case: 'allActive' } },
      k: 10,
    });
    expect(serialize).toHaveBeenCalledWith(reply);
    // Nothing to rehearse on without active items.
    const none = { activeItems: async () => ({ items: [] }) };
    expect(await rehearseTransport(definition, controller, none)).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('still serves when no item is active (nothing to rehearse on)', async () => {
    const { items } = await store.activeItems({ limit: 1000 });
    await store.upsertItems(
      items.map((i) => ({ id: i.id, features: i.features, status: 'retired' as const })),
    );
    h = await startHarness(store, { m1: () => makeModel(1) });
    const res = await recommend(h, {
      user: { userId: 'u1', features: {}, support: [] },
      k: 3,
    });
    expect(res.items).toEqual([]);
  });
});
