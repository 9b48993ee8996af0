#!/usr/bin/env node
import { currentBackend, describeBackend } from '@warmstart/core';
import { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandContext } from '../commands/context';
import { evaluateCommand } from '../commands/evaluate';
import { importers, runImport } from '../commands/import';
import { trainCommand } from '../commands/train';
import { loadDatasetFromStore } from '../data/from-store';
import { createLogger } from '../util/logger';
import { createProgress } from '../util/progress';
import { withInterrupt } from '../util/interrupt';
import { demoConfig } from './demo-config';
import { itemLabel, readMovieTitles } from './item-names';
import {
  categorical,
  DemoClients,
  IngestInteractionsRequest,
  InteractionKind,
  multi,
  numeric,
  RecommendRequest,
  ScoreRequest,
  toTimestamp,
  UpsertItemsRequest,
  type UserContext,
} from './grpc-calls';
import { startServer, type ServerProcess } from './server-process';

export interface DemoFlags {
  movielens?: string;
  dataDir: string;
  serverMain: string;
}

/**
 * The end-to-end demo on the embedded SQLite default: data -> meta-train -> evaluate -> gRPC
 * server -> real calls (a new user with a few inline ratings, a brand-new item scored from its
 * content, then warmed up on its first ratings) -> clean shutdown. Every step prints what it did.
 */
export async function runDemo(flags: DemoFlags, signal: AbortSignal): Promise<void> {
  const logger = createLogger(process.env['LOG_LEVEL'] ?? 'warn');
  const ctx: CommandContext = {
    out: (l) => l.split('\n').forEach((part) => say(`   ${part}`)),
    logger,
    progress: createProgress(logger),
  };
  const stamp = new Date()
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(0, 14);
  const dataDir = resolve(flags.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const database = join(dataDir, `demo-${stamp}.db`);
  const artifacts = join(dataDir, `demo-${stamp}-models`);
  const synthetic = !flags.movielens;
  const configPath = join(dataDir, `demo-${stamp}.config.json`);
  writeFileSync(configPath, JSON.stringify(demoConfig(synthetic), null, 2));
  const t0 = Date.now();
  say(`warmstart demo: fresh SQLite store ${database}`);

  step(
    1,
    synthetic
      ? 'import synthetic data (600 users, 300 items, 30,000 ratings)'
      : `import MovieLens-100K from ${flags.movielens}`,
  );
  const importer = synthetic
    ? importers.synthetic({ users: 600, items: 300, interactions: 30_000, seed: 7 })
    : importers['movielens-100k'](flags.movielens!);
  await runImport(synthetic ? 'synthetic' : 'movielens-100k', database, importer, ctx, signal);

  step(2, 'meta-train (MeLU-style network, short schedule), register and promote the model');
  const trained = await trainCommand({ database, artifacts, config: configPath, promote: true }, ctx, signal);
  const backend = currentBackend();
  if (backend) {
    const why = backend.nativeKernels.reason ? ` (stock kernels: ${backend.nativeKernels.reason})` : '';
    say(`   TensorFlow.js backend: ${describeBackend(backend)}${why}`);
  }

  step(3, 'evaluate protocol P1 (1 seed): baselines vs the meta-learner');
  const reportDir = join(dataDir, `demo-${stamp}-report`);
  await evaluateCommand(
    { protocol: 'p1', out: reportDir, config: configPath, database },
    ctx,
    () => loadDatasetFromStore(database, synthetic ? 'synthetic' : 'movielens-100k'),
    signal,
  );

  const serverMain = resolve(flags.serverMain);
  if (!existsSync(serverMain)) {
    say(`\nThe gRPC server is not built (${serverMain} is missing): the demo stops after evaluation.`);
    return;
  }
  step(4, `start the gRPC server (${serverMain})`);
  let server: ServerProcess | undefined;
  let clients: DemoClients | undefined;
  try {
    server = await startServer(serverMain, database, artifacts, (line) => logger.debug({ server: line }));
    clients = new DemoClients(`127.0.0.1:${server.port}`);
    await clients.waitForReady(60_000);
    say(`   listening on 127.0.0.1:${server.port}, serving ${trained.modelId}`);
    await grpcCalls(clients, database, synthetic, synthetic ? new Map() : readMovieTitles(flags.movielens!));
  } finally {
    clients?.close();
    if (server) {
      step(8, 'shut the server down (SIGTERM, drain)');
      const code = await server.stop();
      say(`   server exited with code ${code}`);
    }
  }
  say(
    `\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(0)}s; report: ${join(reportDir, 'report.html')}`,
  );
}

async function grpcCalls(
  clients: DemoClients,
  database: string,
  synthetic: boolean,
  titles: ReadonlyMap<string, string>,
): Promise<void> {
  const label = (itemId: string) => itemLabel(titles, itemId);
  const dataset = await loadDatasetFromStore(database);
  const popularity = new Map<string, number>();
  for (const r of dataset.ratings) popularity.set(r.itemId, (popularity.get(r.itemId) ?? 0) + 1);
  const popular = [...popularity.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
  const support = popular.slice(0, 5).map((itemId, i) => ({ itemId, value: [5, 5, 4, 2, 1][i] }));
  const user: UserContext = {
    userId: 'demo-new-user',
    features: {
      age: numeric(29),
      gender: categorical('F'),
      occupation: categorical(synthetic ? 'engineer' : 'programmer'),
    },
    support,
  };

  step(5, `Recommend for a brand-new user with ${support.length} inline ratings`);
  say(`   support: ${support.map((s) => `${label(s.itemId)}=${s.value}`).join(', ')}`);
  const rec = await withRetry(() =>
    clients.recommend(
      RecommendRequest.fromPartial({ user, k: 5, candidates: { source: { $case: 'allActive', value: {} } } }),
    ),
  );
  say(`   model ${rec.model?.modelId} v${rec.model?.version}, adapted on ${rec.supportSize} interactions:`);
  for (const it of rec.items)
    say(
      `     ${label(it.itemId).padEnd(48)} predicted ${it.score.toFixed(3)}${it.coldItem ? ' (cold item)' : ''}`,
    );

  step(6, 'UpsertItems a brand-new item, then score it for the same user');
  const newItemId = `demo-item-${Date.now()}`;
  const since = new Date(Date.now() - 1000);
  const genres = synthetic ? ['SciFi', 'Action'] : ['Sci-Fi', 'Action'];
  await clients.upsertItems(
    UpsertItemsRequest.fromPartial({
      items: [
        {
          id: newItemId,
          features: { genres: multi(genres), release_year: numeric(new Date().getUTCFullYear()) },
          availableAt: toTimestamp(new Date()),
        },
      ],
    }),
  );
  say(`   added ${newItemId} (genres ${genres.join(', ')}), never rated by anyone`);
  const scored = await clients.score(
    ScoreRequest.fromPartial({ user, itemIds: [newItemId, ...rec.items.slice(0, 2).map((i) => i.itemId)] }),
  );
  for (const s of scored.items ?? [])
    say(
      `     score ${label(String(s.itemId)).padEnd(48)} ${Number(s.score).toFixed(3)}${s.coldItem ? ' (cold item, from its content)' : ''}`,
    );
  const fresh = await clients.recommend(
    RecommendRequest.fromPartial({
      user,
      k: 3,
      candidates: { source: { $case: 'availableSince', value: toTimestamp(since) } },
    }),
  );
  say(
    `   Recommend over items added since ${since.toISOString()}: ${fresh.items.map((i) => `${i.itemId} (${i.score.toFixed(3)})`).join(', ') || 'none'}`,
  );

  const raters = [...new Set(dataset.ratings.map((r) => r.userId))].slice(0, 8);
  step(7, `IngestInteractions: ${raters.length} existing users rate ${newItemId} 5; the server warms it up`);
  const before = scored.items?.[0]?.score ?? Number.NaN;
  await clients.ingestInteractions(
    IngestInteractionsRequest.fromPartial({
      interactions: raters.map((userId) => ({
        eventId: `demo-${newItemId}-${userId}`,
        userId,
        itemId: newItemId,
        value: 5,
        kind: InteractionKind.INTERACTION_KIND_RATING,
        eventTime: toTimestamp(new Date()),
      })),
    }),
  );
  // The warm-up runs in the background (a worker thread): poll Score until its row lands.
  let after = before;
  for (let i = 0; i < 50 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const again = await clients.score(ScoreRequest.fromPartial({ user, itemIds: [newItemId] }));
    after = again.items?.[0]?.score ?? Number.NaN;
  }
  say(
    after === before
      ? `   score of ${newItemId} unchanged (${before.toFixed(3)}): the warm-up did not land within 5 s`
      : `   score of ${newItemId}: ${before.toFixed(3)} from its content -> ${after.toFixed(3)} after warming up on ${raters.length} ratings`,
  );
}

/** The server may still be loading the model right after it starts listening. */
async function withRetry<T>(fn: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || (err as { code?: number }).code !== 9 /* FAILED_PRECONDITION */) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function step(n: number, text: string): void {
  say(`\n[${n}] ${text}`);
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

/** `demo` command options, shared by the CLI and this file's own entry point. */
export function demoProgram(): Command {
  return new Command('demo')
    .description('end-to-end demo: data -> meta-train -> evaluate -> gRPC server -> real calls')
    .option('--movielens <dir>', 'use a MovieLens-100K directory instead of synthetic data')
    .option('--data-dir <dir>', 'where the fresh SQLite file, models and report go', './data')
    .option('--server-main <file>', 'the serving entry point', 'apps/serving/dist/main.js')
    .action(async (flags: DemoFlags) => {
      await withInterrupt((signal) => runDemo(flags, signal));
    });
}

if (require.main === module) {
  demoProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
