import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, ItemRecord, RatingEvent, UserRecord } from '@warmstart/evaluation';

/**
 * Reads a MovieLens-100K directory straight into memory, with the same ids and features the
 * feature store's importer writes (docs/internal-api.md "Dataset conventions"). `evaluate --movielens`
 * uses it so an offline evaluation needs no database.
 */
export function readMovieLens100k(dir: string): Dataset {
  for (const f of ['u.data', 'u.item', 'u.user', 'u.genre']) {
    if (!existsSync(join(dir, f))) throw new Error(`--movielens: ${join(dir, f)} not found (expected a MovieLens-100K directory)`);
  }
  const read = (f: string) => readFileSync(join(dir, f), 'latin1').split('\n').filter((l) => l.trim() !== '');
  const genres: string[] = [];
  for (const line of read('u.genre')) {
    const [name, index] = line.split('|');
    genres[Number(index)] = name;
  }
  const users: UserRecord[] = read('u.user').map((line) => {
    const [id, age, gender, occupation, zip] = line.split('|');
    return { id, features: { age: Number(age), gender, occupation, zip_prefix: zip.slice(0, 2) } };
  });
  const items: ItemRecord[] = read('u.item').map((line) => {
    const parts = line.split('|');
    const released = parts[2] ? new Date(`${parts[2]} UTC`) : undefined;
    const valid = released && !Number.isNaN(released.getTime()) ? released : undefined;
    const flags = parts.slice(parts.length - genres.length);
    return {
      id: parts[0],
      features: {
        genres: genres.filter((_, i) => flags[i] === '1'),
        release_year: valid ? valid.getUTCFullYear() : null,
      },
      availableAt: valid,
    };
  });
  const ratings: RatingEvent[] = read('u.data').map((line) => {
    const [userId, itemId, value, ts] = line.split('\t');
    return { userId, itemId, value: Number(value), time: new Date(Number(ts) * 1000) };
  });
  return { name: 'movielens-100k', users, items, ratings };
}
