import { sqlTime } from '../src/db/sql';

// sqlTime formats every stored time; its fast path must agree with toISOString to the character.
describe('sqlTime', () => {
  const slow = (d: Date) => d.toISOString().replace('Z', '+00:00');

  it('matches toISOString with an explicit offset at day, hour and millisecond edges', () => {
    const edges = [
      Date.UTC(1900, 0, 1),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      0,
      Date.UTC(1997, 11, 4, 15, 55, 49, 7),
      Date.UTC(2000, 1, 29, 12, 0, 0, 50),
      Date.UTC(2026, 11, 8, 0, 0, 0, 0),
      Date.UTC(2199, 11, 31, 23, 59, 59, 999),
    ];
    for (const t of edges) expect(sqlTime(new Date(t))).toBe(slow(new Date(t)));
    expect(sqlTime(new Date(Date.UTC(1997, 11, 4, 15, 55, 49, 7)))).toBe('1997-12-04T15:55:49.007+00:00');
  });

  it('matches toISOString on 20,000 seeded random times, reusing cached days', () => {
    let s = 12345;
    const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const lo = Date.UTC(1850, 0, 1);
    const hi = Date.UTC(2300, 0, 1);
    for (let i = 0; i < 20_000; i++) {
      // Half of them on a handful of days, so the day cache is hit as well as filled.
      const t =
        i % 2
          ? Math.floor(lo + rand() * (hi - lo))
          : Date.UTC(2001, 0, 1 + (i % 5)) + Math.floor(rand() * 86_400_000);
      expect(sqlTime(new Date(t))).toBe(slow(new Date(t)));
    }
  });

  it('writes years outside 0..9999 as toISOString does, and refuses an invalid date', () => {
    for (const t of [Date.UTC(-1, 5, 1), Date.UTC(12000, 0, 1, 1, 2, 3, 4)])
      expect(sqlTime(new Date(t))).toBe(slow(new Date(t)));
    expect(() => sqlTime(new Date(NaN))).toThrow(RangeError);
  });
});
