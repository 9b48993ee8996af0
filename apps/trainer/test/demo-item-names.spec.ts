import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itemLabel, readMovieTitles } from '../src/demo/item-names';

const ML100K = process.env['WARMSTART_ML100K'] ?? join(__dirname, '../../../../shared/datasets/ml-100k');

describe('demo item names', () => {
  it('reads u.item titles (Latin-1) and labels items with title and id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'titles-'));
    try {
      writeFileSync(
        join(dir, 'u.item'),
        Buffer.from(
          '1|Toy Story (1995)|01-Jan-1995||url|0|1\n2|Misérables, Les (1995)|01-Jan-1995||url|1|0\n',
          'latin1',
        ),
      );
      const titles = readMovieTitles(dir);
      expect(titles).toEqual(
        new Map([
          ['1', 'Toy Story (1995)'],
          ['2', 'Misérables, Les (1995)'],
        ]),
      );
      expect(itemLabel(titles, '1')).toBe('Toy Story (1995) [1]');
      expect(itemLabel(titles, 'demo-item-7')).toBe('demo-item-7');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no titles for a directory without u.item (the synthetic demo shows ids)', () => {
    expect(readMovieTitles(tmpdir()).size).toBe(0);
  });

  it('names every MovieLens-100K item', () => {
    const titles = readMovieTitles(ML100K);
    if (titles.size === 0) {
      console.warn(`MovieLens-100K not found at ${ML100K}: the full-title check is skipped`);
      return;
    }
    expect(titles.size).toBe(1682);
    expect(titles.get('50')).toBe('Star Wars (1977)');
  });
});
