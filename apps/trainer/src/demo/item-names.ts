import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Item titles of a MovieLens-100K directory (`u.item`: `id|title|release|...`, Latin-1), so the
 * demo can show "Star Wars (1977)" rather than item 50. Empty when the file is absent.
 */
export function readMovieTitles(dir: string): Map<string, string> {
  const file = join(dir, 'u.item');
  const titles = new Map<string, string>();
  if (!existsSync(file)) return titles;
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    const [id, title] = line.split('|');
    if (id && title) titles.set(id.trim(), title.trim());
  }
  return titles;
}

/** How the demo names an item: its title with the id, or the id alone when it has no title. */
export function itemLabel(titles: ReadonlyMap<string, string>, itemId: string): string {
  const title = titles.get(itemId);
  return title ? `${title} [${itemId}]` : itemId;
}
