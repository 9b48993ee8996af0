#!/usr/bin/env node
/**
 * MovieLens-100K as implicit feedback with item content, for `import csv --kind implicit`:
 * every rating becomes an interaction (user, item, time; the rating value is dropped) and each
 * item gets its genres and the words of its title (lower case, 3+ letters, the year removed).
 * It stands in for the common platform shape "implicit feedback, new items with genre and title
 * content". Usage: node tools/datasets/movielens-implicit.mjs <ml-100k dir> <out dir>
 * (writes interactions.csv, items.csv and items-title.csv: the same items with the raw title as
 * MovieLens writes it, year included, for `--item-fields genres:multi_categorical,title:text`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node tools/datasets/movielens-implicit.mjs <ml-100k dir> <out dir>');
  process.exit(2);
}
const lines = (name) =>
  readFileSync(join(dir, name), 'latin1')
    .split('\n')
    .filter((l) => l.trim() !== '');
const genres = lines('u.genre').map((l) => l.split('|')[0]);
// Cells are joined with "|" (the importer's list separator): strip it and commas from values.
const cell = (s) => s.replace(/[|,"]/g, ' ').trim();
const items = ['id,genres,words'];
const titled = ['id,genres,title'];
for (const l of lines('u.item')) {
  const p = l.split('|');
  const g = p.slice(5, 24).flatMap((v, i) => (v === '1' ? [cell(genres[i])] : []));
  const title = p[1].replace(/\(\d{4}\)/g, '').toLowerCase();
  const words = [...new Set(title.match(/[a-z]+/g) ?? [])].filter((w) => w.length > 2).sort();
  items.push(`${p[0]},${g.join('|')},${words.join('|')}`);
  // The raw title, quoted (titles hold commas), inner quotes doubled.
  titled.push(`${p[0]},${g.join('|')},"${p[1].replace(/"/g, '""')}"`);
}
const interactions = ['user_id,item_id,timestamp'];
for (const l of lines('u.data')) {
  const [user, item, , time] = l.split('\t');
  interactions.push(`${user},${item},${time}`);
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'items.csv'), items.join('\n') + '\n');
writeFileSync(join(out, 'items-title.csv'), titled.join('\n') + '\n');
writeFileSync(join(out, 'interactions.csv'), interactions.join('\n') + '\n');
console.log(`wrote ${interactions.length - 1} interactions and ${items.length - 1} items to ${out}`);
