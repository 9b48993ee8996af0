import { withTextWords } from '../src/data/text-words';

describe('withTextWords', () => {
  const dataset = {
    name: 'd',
    users: [{ id: 'u1', features: { bio: 'Likes Jazz' } }],
    items: [
      { id: 'a', features: { title: 'Toy Story (1995)', genres: ['Comedy'] } },
      { id: 'b', features: { title: 'Heat (1995)', genres: ['Crime'] } },
      { id: 'c', features: { genres: ['Drama'] } },
    ],
    ratings: [],
  };
  const features = {
    user: [],
    item: [
      { name: 'genres', kind: 'multi_categorical' as const },
      { name: 'title', kind: 'text' as const },
    ],
  };

  it("replaces each text field's value by its words, leaving every other field and side as it is", () => {
    const out = withTextWords(dataset, features);
    expect(out.items.map((i) => i.features)).toEqual([
      { title: ['toy', 'story', '1995'], genres: ['Comedy'] },
      { title: ['heat', '1995'], genres: ['Crime'] },
      { genres: ['Drama'] },
    ]);
    expect(out.users).toBe(dataset.users); // no text field declared for users
    expect(dataset.items[0]!.features.title).toBe('Toy Story (1995)'); // the input is not modified
  });
});
