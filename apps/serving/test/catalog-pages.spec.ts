/**
 * The catalog's pages kept up to date by changes (recommend/catalog-pages.ts): items join the last
 * page (a new one when it is full), replace their older version in place or leave their page;
 * pages a change did not touch keep their identity (their encodings stay valid), touched pages are
 * new arrays (a lease holding the old ones keeps a consistent view), and re-read unchanged items
 * change nothing.
 */
import type { StoredItem } from '../src/ports/store.port';
import { CatalogPages, PAGE_SIZE } from '../src/recommend/catalog-pages';

const item = (id: string, at = 1, status: 'active' | 'retired' = 'active'): StoredItem => ({
  id,
  features: {},
  status,
  updatedAt: new Date(at),
});
const active = (i: StoredItem) => i.status === 'active';
const ids = (pages: readonly StoredItem[][]) => pages.map((p) => p.map((i) => i.id));

function catalogOf(n: number): CatalogPages {
  const c = new CatalogPages();
  c.reset(Array.from({ length: n }, (_, k) => item(`i${k}`)));
  return c;
}

describe('CatalogPages', () => {
  it('pages a full read PAGE_SIZE at a time', () => {
    const c = catalogOf(PAGE_SIZE * 2 + 5);
    expect(c.pages.map((p) => p.length)).toEqual([PAGE_SIZE, PAGE_SIZE, 5]);
    expect(c.size).toBe(PAGE_SIZE * 2 + 5);
    expect(c.pageOf(`i${PAGE_SIZE + 3}`)).toBe(c.pages[1]);
  });

  it('adds a new item to a copy of the last page, leaving the others as they were', () => {
    const c = catalogOf(PAGE_SIZE + 2);
    const [first, last] = c.pages;
    expect(c.apply([item('new', 2)], active)).toEqual(['new']);
    expect(c.pages[0]).toBe(first);
    expect(c.pages[1]).not.toBe(last);
    expect(ids([last!])).toEqual([[`i${PAGE_SIZE}`, `i${PAGE_SIZE + 1}`]]); // published: untouched
    expect(ids([c.pages[1]!])).toEqual([[`i${PAGE_SIZE}`, `i${PAGE_SIZE + 1}`, 'new']]);
    expect(c.pageOf('new')).toBe(c.pages[1]);
    expect(c.pageOf(`i${PAGE_SIZE}`)).toBe(c.pages[1]);
  });

  it('starts a new page when the last one is full', () => {
    const c = catalogOf(PAGE_SIZE);
    const [full] = c.pages;
    c.apply([item('a', 2), item('b', 2)], active);
    expect(c.pages[0]).toBe(full);
    expect(ids(c.pages.slice(1))).toEqual([['a', 'b']]);
  });

  it('replaces a changed item in place and drops a retired one; an empty page goes', () => {
    const c = catalogOf(PAGE_SIZE + 1);
    const [first, second] = c.pages;
    const changed = item('i5', 2);
    expect(c.apply([changed, item(`i${PAGE_SIZE}`, 2, 'retired')], active)).toEqual(['i5', `i${PAGE_SIZE}`]);
    expect(c.pages).toHaveLength(1);
    expect(c.pages[0]).not.toBe(first);
    expect(c.pages[0]![5]).toBe(changed);
    expect(c.pageOf(`i${PAGE_SIZE}`)).toBeUndefined();
    expect(c.size).toBe(PAGE_SIZE);
    expect(second).toHaveLength(1); // the published page itself is never changed
  });

  it('changes nothing for items re-read at the version it holds, or inactive ones it never held', () => {
    const c = catalogOf(10);
    const before = c.pages;
    expect(c.apply([item('i3', 1), item('gone', 5, 'retired')], active)).toEqual([]);
    expect(c.pages).toBe(before);
    // The latest version of an id read twice wins.
    expect(c.apply([item('i3', 3), item('i3', 2)], active)).toEqual(['i3']);
    expect(c.pages[0]![3]!.updatedAt).toEqual(new Date(3));
  });

  it('keeps the published pages of a lease consistent across changes', () => {
    const c = catalogOf(5);
    const leased = c.pages;
    c.apply([item('i1', 2, 'retired'), item('x', 2)], active);
    expect(ids(leased)).toEqual([['i0', 'i1', 'i2', 'i3', 'i4']]);
    expect(ids(c.pages)).toEqual([['i0', 'i2', 'i3', 'i4', 'x']]);
  });
});
