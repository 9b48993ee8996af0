import {
  RecommendRequest,
  RecommenderServiceService,
  SERVICE_NAMES,
  packageDefinition,
  toTimestamp,
} from '@warmstart/contracts';
import { RecommendRequestDecoder, servingPackageDefinition } from '../src/grpc/recommend-decoding';

const ids = (n: number, prefix = 'item-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const request = (over: Partial<RecommendRequest> = {}): RecommendRequest => ({
  user: {
    userId: '',
    features: { age: { kind: { $case: 'numeric', value: 31 } } },
    support: [
      { itemId: 'a', value: 4 },
      { itemId: 'b', value: 2 },
    ],
  },
  candidates: { source: { $case: 'itemIds', value: { ids: ids(300) } } },
  k: 10,
  includeSeen: false,
  ...over,
});

const wire = (r: RecommendRequest) => Buffer.from(RecommendRequest.encode(r).finish());
const plain = (b: Buffer) => RecommendRequest.decode(b);

describe('RecommendRequestDecoder', () => {
  it('decodes exactly like the generated decoder, for every candidate source and odd inputs', () => {
    const decoder = new RecommendRequestDecoder(1 << 20);
    const samples: Buffer[] = [
      wire(request()),
      wire(request({ candidates: { source: { $case: 'itemIds', value: { ids: ids(3) } } } })), // small: not memoised
      wire(request({ candidates: { source: { $case: 'itemIds', value: { ids: ids(500, 'é-ü-') } } } })),
      wire(
        request({ candidates: { source: { $case: 'availableSince', value: toTimestamp(new Date(1e12)) } } }),
      ),
      wire(request({ candidates: { source: { $case: 'allActive', value: {} } } })),
      wire(request({ candidates: undefined, k: -3, includeSeen: true })), // 10-byte varint k
      wire(request({ user: undefined })),
      // The candidates field twice (proto merge: the repeated ids are concatenated).
      Buffer.concat([wire(request()), wire(request({ user: undefined, k: 0 }))]),
      // An unknown field (number 15, length-delimited) before the candidates.
      Buffer.concat([Buffer.from([0x7a, 0x03, 0x61, 0x62, 0x63]), wire(request())]),
      Buffer.alloc(0),
    ];
    for (const b of samples) {
      expect(decoder.decode(b)).toEqual(plain(b));
      expect(decoder.decode(b)).toEqual(plain(b)); // again: from the memo where it applies
    }
    const truncated = wire(request()).subarray(0, 700);
    expect(() => decoder.decode(truncated)).toThrow();
  });

  it('from its second appearance on, hands out one frozen candidates value per byte sequence', () => {
    const decoder = new RecommendRequestDecoder(1 << 20);
    const a0 = decoder.decode(wire(request())); // seen once: decoded, not remembered
    const a1 = decoder.decode(wire(request()));
    const a2 = decoder.decode(wire(request({ k: 3, user: { userId: 'u1', features: {}, support: [] } })));
    expect(Object.isFrozen(a0.candidates)).toBe(false);
    expect(a1.candidates).not.toBe(a0.candidates);
    const b = decoder.decode(
      wire(request({ candidates: { source: { $case: 'itemIds', value: { ids: ids(300, 'x') } } } })),
    );
    expect(a2.candidates).toBe(a1.candidates);
    expect(a2.k).toBe(3);
    expect(a2.user?.userId).toBe('u1');
    expect(b.candidates).not.toBe(a1.candidates);
    const list = a1.candidates?.source?.$case === 'itemIds' ? a1.candidates.source.value.ids : [];
    expect(Object.isFrozen(list)).toBe(true);
    expect(list).toEqual(ids(300));
    expect(() => (list as string[]).push('z')).toThrow();
  });

  it('with a zero bound decodes every request afresh', () => {
    const decoder = new RecommendRequestDecoder(0);
    const one = decoder.decode(wire(request()));
    const two = decoder.decode(wire(request()));
    expect(two).toEqual(one);
    expect(two.candidates).not.toBe(one.candidates);
  });

  it('replaces only Recommend’s request deserializer in the served package definition', () => {
    const served = servingPackageDefinition(new RecommendRequestDecoder(1024));
    const recommender = served[SERVICE_NAMES.recommender] as unknown as typeof RecommenderServiceService;
    expect(recommender.recommend.requestDeserialize).not.toBe(
      RecommenderServiceService.recommend.requestDeserialize,
    );
    expect(recommender.recommend.responseSerialize).toBe(
      RecommenderServiceService.recommend.responseSerialize,
    );
    expect(recommender.score).toBe(RecommenderServiceService.score);
    expect(Object.keys(served).sort()).toEqual(Object.keys(packageDefinition).sort());
    const b = wire(request());
    expect(recommender.recommend.requestDeserialize(b)).toEqual(plain(b));
  });
});
