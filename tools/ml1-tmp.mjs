import { openFeatureStore, importMovieLens100k } from '@warmstart/feature-store';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
const file = join(mkdtempSync('/tmp/imp/x-'), 'ml.db');
const store = await openFeatureStore(file);
const t = performance.now();
const r = await importMovieLens100k(store, '/work/shared/datasets/ml-100k');
console.log(((performance.now() - t) / 1000).toFixed(3), 's', r.interactions.ingested);
await store.close();
