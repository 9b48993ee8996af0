import { ValidationError } from '../src';
import { validateInteractions } from '../src/store/validate-inputs';
import type { InteractionInput } from '../src/store/inputs';

// Rows are checked without building field names; a bad one must still be named exactly.
describe('validateInteractions', () => {
  const good: InteractionInput = {
    eventId: 'e',
    userId: 'u',
    itemId: 'i',
    value: 3,
    eventTime: new Date(Date.UTC(2020, 0, 1)),
  };
  const named = (rows: unknown[], range: [number, number] = [1, 5]): string => {
    try {
      validateInteractions(rows as InteractionInput[], range);
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as Error).message;
    }
    return 'valid';
  };

  it('accepts ratings inside the scale and implicit values in 0..1', () => {
    expect(named([good, { ...good, value: 1 }, { ...good, value: 5 }])).toBe('valid');
    expect(
      named([
        { ...good, kind: 'implicit', value: 0 },
        { ...good, kind: 'implicit', value: 1 },
      ]),
    ).toBe('valid');
    expect(named([{ ...good, value: 0.5 }], [0.5, 4])).toBe('valid');
  });

  it.each([
    ['eventId', { eventId: '' }, 'interactions[2].eventId: must be a non-empty string'],
    ['eventId', { eventId: 'x'.repeat(129) }, 'interactions[2].eventId: is longer than 128 characters'],
    ['userId', { userId: '  ' }, 'interactions[2].userId: must be a non-empty string'],
    ['itemId', { itemId: 7 }, 'interactions[2].itemId: must be a non-empty string'],
    ['eventTime', { eventTime: undefined }, 'interactions[2].eventTime: is required'],
    ['eventTime', { eventTime: '2020-01-01' }, 'interactions[2].eventTime: is not a valid date'],
    [
      'eventTime',
      { eventTime: new Date(Date.UTC(1800, 0, 1)) },
      'interactions[2].eventTime: 1800-01-01T00:00:00.000Z is outside 1900..2200',
    ],
    ['value', { value: NaN }, 'interactions[2].value: NaN is not a finite number'],
    ['value', { value: 6 }, 'interactions[2].value: rating 6 is outside 1..5'],
    ['value', { kind: 'implicit', value: 2 }, 'interactions[2].value: implicit value 2 is outside 0..1'],
    ['kind', { kind: 'like' }, 'interactions[2].kind: "like" is not rating or implicit'],
  ])('names %s of the bad row (%j)', (_field, change, message) => {
    expect(named([good, good, { ...good, ...change }, good])).toBe(message);
  });

  it('names a row that is not an object, and a batch that is not an array', () => {
    expect(named([good, null])).toBe('interactions[1]: must be an object');
    expect(() => validateInteractions({} as unknown as InteractionInput[], [1, 5])).toThrow(
      'interactions: must be an array',
    );
  });
});
