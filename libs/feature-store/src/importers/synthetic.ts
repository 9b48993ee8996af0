import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import { ValidationError } from '../errors';
import { NO_TIME, type DatasetProfile, type FeedbackKind } from '../store/dataset-profile';
import type { FeatureStore } from '../store/feature-store';
import type { InteractionInput, ItemRecordInput } from '../store/inputs';
import type { UserRecord } from '../types';
import { loadAll } from './load';
import type { ImportOptions, ImportReport } from './report';

/** Sizes and shape of a synthetic dataset. */
export interface SyntheticOptions {
  users?: number;
  items?: number;
  /**
   * Total interactions (spread over users with a skewed activity distribution). Every user gets at
   * least one when `interactions >= users`; with fewer, only the most active users get one each.
   */
  interactions?: number;
  /** Latent factors behind ratings and content features (default 8). */
  factors?: number;
  /** Zipf exponent of item popularity (default 1.0; 0 = uniform). */
  popularitySkew?: number;
  /** Rating noise standard deviation (default 0.5). */
  noise?: number;
  /** Time axis: interactions and item releases fall in [start, end]. */
  start?: Date;
  end?: Date;
  seed?: number;
  /** Event id prefix (default `synthetic:<seed>`). */
  source?: string;
  /**
   * `explicit` (default): 1..5 ratings from the user-item affinity plus noise. `implicit`: every
   * interaction is a positive (value 1); users pick items by popularity and affinity.
   */
  kind?: FeedbackKind;
  /** Generate user features (default true); false leaves every user without features. */
  userFeatures?: boolean;
  /** Generate item features (default true); false leaves every item without features. */
  itemFeatures?: boolean;
  /** Give interactions and releases times on the time axis (default true); false stores them at `NO_TIME`. */
  times?: boolean;
}

const GENRES = ['Action', 'Comedy', 'Drama', 'Horror', 'Romance', 'SciFi', 'Thriller', 'Documentary'];
const OCCUPATIONS = ['student', 'engineer', 'artist', 'doctor', 'lawyer', 'writer', 'retired', 'other'];

class Rand {
  private readonly g: RandomGenerator;
  constructor(seed: number) {
    this.g = xoroshiro128plus(seed | 0);
  }
  next(): number {
    return unsafeUniformIntDistribution(0, 0x7fffffff, this.g) / 0x80000000;
  }
  int(n: number): number {
    return unsafeUniformIntDistribution(0, n - 1, this.g);
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
}

function resolve(o: SyntheticOptions) {
  const r = {
    users: o.users ?? 1000,
    items: o.items ?? 500,
    interactions: o.interactions ?? 50_000,
    factors: o.factors ?? 8,
    popularitySkew: o.popularitySkew ?? 1,
    noise: o.noise ?? 0.5,
    start: o.start ?? new Date('2020-01-01T00:00:00Z'),
    end: o.end ?? new Date('2023-01-01T00:00:00Z'),
    seed: o.seed ?? 42,
    kind: o.kind ?? 'explicit',
    userFeatures: o.userFeatures ?? true,
    itemFeatures: o.itemFeatures ?? true,
    times: o.times ?? true,
  };
  if (r.kind !== 'explicit' && r.kind !== 'implicit')
    throw new ValidationError('kind', `"${String(r.kind)}" is not explicit or implicit`);
  for (const k of ['users', 'items', 'interactions', 'factors'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] < 1)
      throw new ValidationError(k, `${r[k]} must be a positive integer`);
  }
  if (r.interactions > r.users * r.items) {
    throw new ValidationError(
      'interactions',
      `${r.interactions} exceeds users x items (${r.users * r.items})`,
    );
  }
  if (!(r.end.getTime() > r.start.getTime())) throw new ValidationError('end', 'must be after start');
  return { ...r, source: o.source ?? `synthetic:${r.seed}` };
}

/** A generated dataset: entities in memory, interactions as a lazy, re-iterable stream. */
export interface SyntheticData {
  users: UserRecord[];
  items: ItemRecordInput[];
  interactions: Iterable<InteractionInput>;
  interactionCount: number;
  /** Its kind, scale (1..5 for explicit) and whether it has times. */
  profile: DatasetProfile;
}

/**
 * Seeded latent-factor data: users and items get factor vectors; content features are
 * derived from the factors (so they predict ratings), item popularity is Zipf-skewed,
 * ratings are 1..5 from the user-item affinity plus noise (implicit: users pick items with
 * probability rising with that affinity), and items are released and users arrive along the time
 * axis. Same options, same data; the options that drop features or times leave the rest unchanged.
 */
export function generateSynthetic(options: SyntheticOptions = {}): SyntheticData {
  const o = resolve(options);
  const rng = new Rand(o.seed);
  const span = o.end.getTime() - o.start.getTime();
  const vec = () => Array.from({ length: o.factors }, () => rng.normal());
  const userF = Array.from({ length: o.users }, vec);
  const itemF = Array.from({ length: o.items }, vec);
  const users: UserRecord[] = userF.map((f, u) => ({
    id: `u${u + 1}`,
    features: {
      age: Math.round(18 + 50 / (1 + Math.exp(-f[0]))),
      gender: f[1 % o.factors] > 0 ? 'F' : 'M',
      occupation: OCCUPATIONS[Math.abs(Math.floor(f[2 % o.factors] * 2.5 + 4)) % OCCUPATIONS.length],
      zip_prefix: String(10 + rng.int(90)),
    },
  }));
  const releases = itemF.map(() => o.start.getTime() + Math.floor(rng.next() * rng.next() * span * 0.9));
  const items: ItemRecordInput[] = itemF.map((f, i) => {
    const genres = GENRES.filter((_, g) => f[g % o.factors] + 0.3 * (g >= o.factors ? f[0] : 0) > 0.9);
    return {
      id: `i${i + 1}`,
      features: {
        genres: genres.length > 0 ? genres : [GENRES[i % GENRES.length]],
        release_year: new Date(releases[i]).getUTCFullYear(),
        length: Math.round(90 + 20 * f[3 % o.factors]),
      },
      availableAt: new Date(releases[i]),
    };
  });
  const itemBias = itemF.map(() => 0.4 * rng.normal());
  // Zipf popularity over a random permutation of items, sampled through the cumulative weights.
  const order = Array.from({ length: o.items }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const cumulative = new Float64Array(o.items);
  let acc = 0;
  order.forEach((_, rank) => {
    acc += 1 / Math.pow(rank + 1, o.popularitySkew);
    cumulative[rank] = acc;
  });
  // Activity: log-normal weights. Every user gets at least one interaction when there are at least
  // as many interactions as users; with fewer, the most active users get one each and the rest
  // have none (users without history: cold-start users).
  const weights = userF.map(() => Math.exp(rng.normal()));
  const total = weights.reduce((a, b) => a + b, 0);
  const least = o.interactions >= o.users ? 1 : 0;
  const perUser = weights.map((w) =>
    Math.min(o.items, Math.max(least, Math.floor((w / total) * o.interactions))),
  );
  let assigned = perUser.reduce((a, b) => a + b, 0);
  // Balance to the exact total. It terminates: the total fits (interactions <= users x items, and
  // >= users x least), and each full cycle moves `assigned` at least one step towards it.
  const cycle =
    least === 1 ? userF.map((_, u) => u) : userF.map((_, u) => u).sort((a, b) => weights[b] - weights[a]);
  for (let k = 0; assigned !== o.interactions; k = (k + 1) % o.users) {
    const u = cycle[k];
    if (assigned < o.interactions && perUser[u] < o.items) {
      perUser[u]++;
      assigned++;
    } else if (assigned > o.interactions && perUser[u] > least) {
      perUser[u]--;
      assigned--;
    }
  }
  const arrivals = userF.map(() => o.start.getTime() + Math.floor(rng.next() * span * 0.8));
  const seed = o.seed;
  const scale = 1.2 / Math.sqrt(o.factors);
  const implicit = o.kind === 'implicit';
  const dot = (u: number, i: number) => {
    let d = 0;
    for (let k = 0; k < o.factors; k++) d += userF[u][k] * itemF[i][k];
    return d;
  };
  const interactions: Iterable<InteractionInput> = {
    *[Symbol.iterator]() {
      const r = new Rand(seed ^ 0x5eed);
      for (let u = 0; u < o.users; u++) {
        const chosen = new Set<number>();
        const want = perUser[u];
        let tries = 0;
        while (chosen.size < want) {
          const x = r.next() * acc;
          let lo = 0;
          let hi = o.items - 1;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (cumulative[mid] < x) lo = mid + 1;
            else hi = mid;
          }
          let item = order[lo];
          // Implicit: keep a popular draw with a probability rising with the user's affinity
          // (bounded tries, so dense users still fill up).
          if (implicit && tries++ < 50 * want) {
            if (chosen.has(item)) continue;
            const z = scale * dot(u, item) + itemBias[item] + o.noise * r.normal();
            if (r.next() >= 1 / (1 + Math.exp(-2 * z))) continue;
          }
          while (chosen.has(item)) item = (item + 1) % o.items; // dense users: take the next free item
          chosen.add(item);
        }
        for (const i of chosen) {
          const raw = 3.4 + scale * dot(u, i) + itemBias[i] + o.noise * r.normal();
          const value = implicit ? 1 : Math.min(5, Math.max(1, Math.round(raw)));
          const from = Math.max(arrivals[u], releases[i]);
          const time = from + Math.floor(r.next() * (o.end.getTime() - from));
          yield {
            eventId: `${o.source}:${users[u].id}:${items[i].id}`,
            userId: users[u].id,
            itemId: items[i].id,
            value,
            kind: implicit ? 'implicit' : 'rating',
            eventTime: o.times ? new Date(time) : NO_TIME,
          };
        }
      }
    },
  };
  if (!o.userFeatures) for (const user of users) user.features = {};
  for (const item of items) {
    if (!o.itemFeatures) item.features = {};
    if (!o.times) item.availableAt = NO_TIME;
  }
  const profile: DatasetProfile = implicit
    ? { kind: 'implicit', scale: null, hasTimes: o.times, name: 'synthetic' }
    : { kind: 'explicit', scale: [1, 5], hasTimes: o.times, name: 'synthetic' };
  return { users, items, interactions, interactionCount: o.interactions, profile };
}

/** Generates a synthetic dataset and writes it in one transaction (streamed in batches). */
export async function importSynthetic(
  store: FeatureStore,
  options: SyntheticOptions = {},
  importOptions: ImportOptions = {},
): Promise<ImportReport> {
  const started = Date.now();
  const data = generateSynthetic(options);
  return loadAll(store, data, importOptions, { rejected: [], count: 0 }, started);
}
