import {
  RecommendRequest,
  RecommenderServiceService,
  SERVICE_NAMES,
  packageDefinition,
  toTimestamp,
} from '@warmstart/contracts';
import {
  RecommendRequestDecoder,
  servingPackageDefinition,
  type DecodedRecommendRequest,
} from '../src/grpc/recommend-decoding';

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
/** The decoded message without the list's byte key (which the generated decoder has not). */
const message = (r: DecodedRecommendRequest): RecommendRequest => {
  const { candidatesKey: _key, ...rest } = r;
  return rest;
};

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
      expect(message(decoder.decode(b))).toEqual(plain(b));
      expect(message(decoder.decode(b))).toEqual(plain(b)); // again: from the memo where it applies
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

  it('decodes one-off id lists with interned ids: equal to the generated decoder, the same strings again', () => {
    const decoder = new RecommendRequestDecoder(1 << 20);
    const list = (n: number, from: number) => Array.from({ length: n }, (_, i) => `m${from + i}`);
    const one = wire(request({ candidates: { source: { $case: 'itemIds', value: { ids: list(300, 0) } } } }));
    const two = wire(
      request({ candidates: { source: { $case: 'itemIds', value: { ids: list(300, 100) } } } }),
    );
    const a = decoder.decode(one);
    const b = decoder.decode(two);
    expect(message(a)).toEqual(plain(one));
    expect(message(b)).toEqual(plain(two));
    const idsOf = (r: RecommendRequest) =>
      r.candidates?.source?.$case === 'itemIds' ? r.candidates.source.value.ids : [];
    // Overlapping ids (m100..m299) are the very same strings; the lists themselves are not shared.
    expect(idsOf(b)[0]).toBe(idsOf(a)[100]);
    expect(Object.isFrozen(idsOf(a))).toBe(false);
    expect(idsOf(b)).not.toBe(idsOf(a));
    // Each decoded list carries the key of its bytes (the catalog's fingerprint for it).
    expect(a.candidatesKey).toMatch(/^bytes:/);
    expect(b.candidatesKey).not.toBe(a.candidatesKey);
    // Ids of the same length and different bytes are not confused; empty ids and duplicates decode.
    const tricky = ['m1', 'm2', '', 'm1', 'n1', '1m', ...list(100, 900)];
    const t = wire(request({ candidates: { source: { $case: 'itemIds', value: { ids: tricky } } } }));
    expect(message(decoder.decode(t))).toEqual(plain(t));
    // An unknown field inside the id list, or a non-ASCII id: the generated decoder, same result.
    const varint = (n: number) => {
      const out: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
      return [...out, n];
    };
    const field = (tag: number, payload: Buffer) =>
      Buffer.concat([Buffer.from([tag, ...varint(payload.length)]), payload]);
    const idList = Buffer.concat([
      ...list(100, 0).map((id) => field(0x0a, Buffer.from(id))),
      field(0x7a, Buffer.from('x')), // unknown field 15 inside the ItemIdList
    ]);
    const odd = Buffer.concat([wire(request({ candidates: undefined })), field(0x12, field(0x0a, idList))]);
    expect(plain(odd).candidates?.source?.$case).toBe('itemIds');
    expect(message(decoder.decode(odd))).toEqual(plain(odd));
    // A truncated id inside a well-formed candidates field: rejected like the generated decoder.
    const cut = Buffer.concat([
      wire(request({ candidates: undefined })),
      field(0x12, field(0x0a, Buffer.concat([idList.subarray(0, 600), Buffer.from([0x0a])]))),
    ]);
    expect(() => plain(cut)).toThrow();
    expect(() => decoder.decode(cut)).toThrow();
    const accents = wire(
      request({ candidates: { source: { $case: 'itemIds', value: { ids: [...list(100, 0), 'é'] } } } }),
    );
    expect(message(decoder.decode(accents))).toEqual(plain(accents));
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
    expect(message(recommender.recommend.requestDeserialize(b))).toEqual(plain(b));
  });
});
