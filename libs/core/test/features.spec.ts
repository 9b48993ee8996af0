import { bucketOf, encodeRows, FeatureSpec, newEncodeStats, textTokens, ValidationError } from '../src';

const users = [
  { id: 'u1', features: { gender: 'M', age: 20, tags: ['x', 'y'] } },
  { id: 'u2', features: { gender: 'F', age: 40, tags: ['x'] } },
  { id: 'u3', features: { gender: 'M', age: 60, tags: [] } },
];
const decl = {
  user: [
    { name: 'gender', kind: 'categorical' as const },
    { name: 'age', kind: 'numeric' as const },
    { name: 'tags', kind: 'multi_categorical' as const },
    { name: 'ageb', kind: 'bucketized' as const, boundaries: [30, 50] },
  ],
  item: [],
};

describe('FeatureSpec and encoder', () => {
  const spec = FeatureSpec.fromData(decl, users, []);

  it('builds vocabularies (most frequent first) with an OOV slot, numeric stats and layout', () => {
    const [g, age, tags, ageb] = spec.user.fields;
    expect(g.vocab).toEqual(['M', 'F']);
    expect([g.offset, g.width]).toEqual([0, 3]);
    expect(age.mean).toBeCloseTo(40, 10);
    expect(age.std).toBeCloseTo(Math.sqrt(800 / 3), 10);
    expect(tags.vocab).toEqual(['x', 'y']);
    expect(ageb.width).toBe(4); // missing + 3 buckets
    expect(spec.user.width).toBe(3 + 2 + 3 + 4);
  });

  it('encodes known values, pools multi-valued fields and buckets numbers', () => {
    const x = encodeRows(spec.user, [{ features: { gender: 'F', age: 40, tags: ['x', 'y'], ageb: 35 } }]);
    expect(Array.from(x)).toEqual([0, 0, 1, 0, 0, 0, 0.5, 0.5, 0, 0, 1, 0]);
  });

  it('maps unseen, missing and NaN values to OOV/defaults and counts them', () => {
    const stats = newEncodeStats();
    const x = encodeRows(spec.user, [{ features: { gender: 'X', age: NaN, tags: ['z', 'x'] } }], stats);
    expect(Array.from(x)).toEqual([1, 0, 0, 0, 1, 0.5, 0.5, 0, 1, 0, 0, 0]);
    expect(stats.oov).toEqual({ gender: 1, tags: 1 });
    expect(stats.missing).toEqual({ age: 1, ageb: 1 });
  });

  it('finds quantile buckets from data when boundaries are omitted', () => {
    const s = FeatureSpec.fromData(
      { user: [{ name: 'v', kind: 'bucketized', buckets: 4 }], item: [] },
      Array.from({ length: 100 }, (_, i) => ({ id: `${i}`, features: { v: i } })),
      [],
    );
    expect(s.user.fields[0].boundaries).toEqual([25, 50, 75]);
    expect(bucketOf([25, 50, 75], 24.9)).toBe(0);
    expect(bucketOf([25, 50, 75], 50)).toBe(2);
  });

  it('round-trips through JSON', () => {
    const back = FeatureSpec.fromJSON(JSON.stringify(spec.toJSON()));
    expect(back.toJSON()).toEqual(spec.toJSON());
    const rec = [{ features: { gender: 'F', tags: ['y'] } }];
    expect(encodeRows(back.user, rec)).toEqual(encodeRows(spec.user, rec));
  });

  it('rejects bad declarations naming the field', () => {
    const bad = (user: unknown) => () => FeatureSpec.fromData({ user, item: [] } as never, [], []);
    expect(bad([{ name: 'a', kind: 'words' }])).toThrow(/decl\.user\[0\]\.kind/);
    expect(
      bad([
        { name: 'a', kind: 'numeric' },
        { name: 'a', kind: 'numeric' },
      ]),
    ).toThrow(/decl\.user\[1\]\.name/);
    expect(bad([{ name: 'b', kind: 'bucketized', boundaries: [3, 1] }])).toThrow(ValidationError);
  });
});

describe('text fields', () => {
  const items = [
    { id: 'a', features: { title: 'Toy Story (1995)' } },
    { id: 'b', features: { title: 'Toy Soldiers (1991)' } },
    { id: 'c', features: { title: 'The Story of Us (1999)' } },
    { id: 'd', features: { title: 'Heat (1995)' } },
    { id: 'e', features: { title: 'Amélie' } },
    { id: 'f', features: {} },
  ];
  const textDecl = { user: [], item: [{ name: 'title', kind: 'text' as const }] };

  it('splits text into lower-cased words of letters and digits, each once', () => {
    expect(textTokens('Toy Story (1995): toy STORY!')).toEqual(['toy', 'story', '1995']);
    expect(textTokens('Amélie, Café-Noir')).toEqual(['amélie', 'café', 'noir']);
    expect(textTokens(['Heat', 'heat wave'])).toEqual(['heat', 'wave']);
    expect(textTokens(null)).toEqual([]);
    expect(textTokens(42)).toEqual([]);
  });

  it('keeps the words of at least two records, most frequent first, up to maxVocab', () => {
    const spec = FeatureSpec.fromData(textDecl, [], items);
    // toy (2), story (2), 1995 (2); every other word is one record's.
    expect(spec.item.fields[0]).toMatchObject({
      kind: 'text',
      offset: 0,
      width: 4,
      vocab: ['1995', 'story', 'toy'],
    });
    const capped = FeatureSpec.fromData(
      { user: [], item: [{ name: 'title', kind: 'text', maxVocab: 1 }] },
      [],
      items,
    );
    expect(capped.item.fields[0]!.vocab).toEqual(['1995']);
    expect(FeatureSpec.fromJSON(JSON.parse(JSON.stringify(spec.toJSON()))).toJSON()).toEqual(spec.toJSON());
  });

  it('encodes the mean of its words, unknown words in the OOV slot, no text as missing', () => {
    const spec = FeatureSpec.fromData(textDecl, [], items);
    const stats = newEncodeStats();
    const rows = encodeRows(
      spec.item,
      [{ features: { title: 'Toy Story' } }, { features: { title: 'Heat (1995)' } }, { features: {} }],
      stats,
    );
    // Columns: OOV, 1995, story, toy.
    expect(Array.from(rows.subarray(0, 4))).toEqual([0, 0, 0.5, 0.5]);
    expect(Array.from(rows.subarray(4, 8))).toEqual([0.5, 0.5, 0, 0]);
    expect(Array.from(rows.subarray(8, 12))).toEqual([1, 0, 0, 0]);
    expect(stats.oov).toEqual({ title: 1 });
    expect(stats.missing).toEqual({ title: 1 });
  });
});
