import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { RecommenderServiceClient, type RecommendRequest } from '@warmstart/contracts';
import { openFeatureStore } from '@warmstart/feature-store';
import type { FigureLog } from './figures';
import type { ChurnDeps } from './serving-churn';

export interface UsersSetup {
  database: string;
  artifacts: string;
  /** Catalog item ids (the synthetic users' interactions and the candidates). */
  itemIds: readonly string[];
  quick: boolean;
}

const INTERACTIONS_PER_USER = 5;
const CALLERS = 8;

/** Resident set size of a process in MB (Linux /proc; NaN elsewhere). */
export function rssMb(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

/**
 * Memory per user: 100k (quick: 20k) synthetic stored users, each with a few ratings, go through
 * Recommend once each (8 callers, 1,000 explicit candidates) on a server with its default caches;
 * the server's RSS is reported every tenth of the way and after the run, and the last against the
 * one at 30% of the users: flat means memory is bounded by the caches, not by users seen.
 */
export async function measureUsers(
  log: FigureLog,
  deps: Pick<ChurnDeps, 'startServer'>,
  setup: UsersSetup,
): Promise<void> {
  const users = setup.quick ? 20_000 : 100_000;
  await addUsers(setup.database, setup.itemIds, users);
  const server = await deps.startServer(setup.database, setup.artifacts, true, 1);
  const client = new RecommenderServiceClient(server.address, grpc.credentials.createInsecure());
  try {
    const candidates = setup.itemIds.slice(0, 1000);
    const request = (i: number): RecommendRequest => ({
      user: { userId: `bench-user-${i}`, features: {}, support: [] },
      candidates: { source: { $case: 'itemIds', value: { ids: candidates } } },
      k: 10,
      includeSeen: false,
    });
    let failed = 0;
    const call = (i: number) =>
      new Promise<void>((resolve) =>
        client.recommend(request(i), (err) => {
          if (err) failed++;
          resolve();
        }),
      );
    log.add('users rss before any user', rssMb(server.pid), 'MB');
    const step = users / 10;
    let next = 0;
    const at: number[] = [];
    for (let end = step; end <= users; end += step) {
      await Promise.all(
        Array.from({ length: CALLERS }, async () => {
          while (next < end) await call(next++);
        }),
      );
      at.push(rssMb(server.pid));
      log.add(`users rss after ${end} distinct users`, at[at.length - 1]!, 'MB');
    }
    await new Promise((r) => setTimeout(r, 5000));
    const idle = rssMb(server.pid);
    log.add('users rss 5 s after the last call', idle, 'MB', `${failed} of ${users} calls failed`);
    log.add(`users rss growth from ${0.3 * users} to ${users} users`, at[9]! / at[2]!, 'x', 'flat: 1.0');
  } finally {
    client.close();
    await server.stop();
  }
}

/** Stores `count` synthetic users with a few ratings each (in batches of 1,000 users). */
async function addUsers(database: string, itemIds: readonly string[], count: number): Promise<void> {
  const store = await openFeatureStore(database);
  try {
    for (let at = 0; at < count; at += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - at) }, (_, j) => ({
        id: `bench-user-${at + j}`,
        features: { gender: (at + j) % 2 ? 'M' : 'F', age: 18 + ((at + j) % 50), occupation: 'other' },
      }));
      await store.upsertUsers(batch);
      await store.ingestInteractions(
        batch.flatMap((u, j) =>
          Array.from({ length: INTERACTIONS_PER_USER }, (_, k) => ({
            eventId: `${u.id}-${k}`,
            userId: u.id,
            itemId: itemIds[(at + j * 7 + k * 13) % itemIds.length]!,
            value: 1 + (k % 5),
            kind: 'rating' as const,
            eventTime: new Date(Date.UTC(2000, 0, 1, 0, 0, k)),
          })),
        ),
      );
    }
  } finally {
    await store.close();
  }
}
