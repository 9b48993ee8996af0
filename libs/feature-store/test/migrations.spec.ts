import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, openFeatureStore } from '../src';
import { loadMigrations, migrationsRoot } from '../src/db/migrations';
import Database from 'better-sqlite3';
import { backends, sqliteDatabase } from './helpers/backends';
import { runTogether } from './helpers/children';

describe.each(backends)('migrations on $name', ({ name, create }) => {
  it('applies once, records Prisma-compatible history, and is idempotent under concurrency', async () => {
    const db = create();
    try {
      const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
      const files = loadMigrations(name);
      expect(results.flatMap((r) => r.applied)).toEqual(files.map((f) => f.name));
      expect((await migrate(db.url)).applied).toEqual([]);
      const store = await openFeatureStore(db.url);
      try {
        const rows = await store.prisma.$queryRawUnsafe<
          { migration_name: string; checksum: string; applied_steps_count: unknown }[]
        >(
          'SELECT migration_name, checksum, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
        );
        const sql = readFileSync(join(migrationsRoot(), name, files[0].name, 'migration.sql'));
        expect(rows[0].migration_name).toBe(files[0].name);
        expect(rows[0].checksum).toBe(createHash('sha256').update(sql).digest('hex'));
        expect(Number(rows[0].applied_steps_count)).toBe(1);
        expect(rows).toHaveLength(files.length);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('one_promoted_model repairs a registry with several promoted versions, keeping the latest', async () => {
    const db = create();
    try {
      await migrate(db.url);
      const store = await openFeatureStore(db.url, { migrate: false });
      const migration = loadMigrations(name).find((f) => f.name.endsWith('_one_promoted_model'))!.name;
      try {
        // the state concurrent promotes could leave before the migration existed
        await store.prisma.$executeRawUnsafe('DROP INDEX "model_versions_one_promoted_key"');
        await store.prisma.$executeRawUnsafe(
          `DELETE FROM "_prisma_migrations" WHERE migration_name = '${migration}'`,
        );
        for (const [id, version, day] of [
          ['a', 1, 1],
          ['b', 2, 3],
          ['c', 3, 2],
        ] as const) {
          await store.prisma.modelVersion.create({
            data: {
              modelId: id,
              version,
              algorithm: 'x',
              artifactUri: id,
              metrics: {},
              status: 'promoted',
              promotedAt: new Date(Date.UTC(2026, 0, day)),
            },
          });
        }
      } finally {
        await store.close();
      }
      expect((await migrate(db.url)).applied).toEqual([migration]);
      const after = await openFeatureStore(db.url, { migrate: false });
      try {
        const rows = await after.prisma.modelVersion.findMany({ orderBy: { modelId: 'asc' } });
        expect(rows.map((r) => [r.modelId, r.status])).toEqual([
          ['a', 'retired'],
          ['b', 'promoted'],
          ['c', 'retired'],
        ]);
      } finally {
        await after.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('matches the Prisma schema: every model is written and read back through the generated client', async () => {
    const db = create();
    const store = await openFeatureStore(db.url);
    const p = store.prisma;
    const t = new Date('2021-02-03T04:05:06.789Z');
    try {
      await p.user.create({ data: { id: 'u', createdAt: t, updatedAt: t } });
      await p.userFeature.create({
        data: { userId: 'u', field: 'f', kind: 'number', number: 1.5, validFrom: t },
      });
      await p.item.create({ data: { id: 'i', availableAt: t, status: 'retired' } });
      await p.itemFeature.create({
        data: { itemId: 'i', field: 'g', kind: 'list', position: 2, text: 'x', validFrom: t, validTo: t },
      });
      await p.interaction.create({
        data: { eventId: 'e', userId: 'u', itemId: 'i', value: 4.5, kind: 'rating', eventTime: t },
      });
      await p.featureSpecVersion.create({ data: { name: 's', version: 1, spec: { a: [1, 'b'] } } });
      await p.modelVersion.create({
        data: {
          modelId: 'm',
          version: 1,
          algorithm: 'maml',
          artifactUri: 'm',
          metrics: { v: { mae: 1 } },
          dataWatermark: t,
          promotedAt: t,
          rolledBackAt: t,
          runId: 'r',
        },
      });
      await p.trainingRun.create({
        data: {
          id: 'r',
          config: { x: 1 },
          metrics: { y: 2 },
          error: 'e',
          checkpoint: 'c',
          checkpointAt: t,
          finishedAt: t,
        },
      });
      await p.lock.create({ data: { name: 'l', owner: 'o', expiresAt: t } });
      await p.setting.create({ data: { key: 'k', value: { scale: [0.5, 4] }, updatedAt: t } });

      expect(await p.user.findUnique({ where: { id: 'u' } })).toEqual({
        id: 'u',
        createdAt: t,
        updatedAt: t,
      });
      expect(await p.userFeature.findFirst()).toMatchObject({
        userId: 'u',
        number: 1.5,
        position: 0,
        text: null,
        validTo: null,
      });
      expect(await p.item.findUnique({ where: { id: 'i' } })).toMatchObject({
        availableAt: t,
        status: 'retired',
      });
      expect(await p.itemFeature.findFirst()).toMatchObject({ position: 2, text: 'x', validTo: t });
      expect(await p.interaction.findUnique({ where: { eventId: 'e' } })).toMatchObject({
        value: 4.5,
        eventTime: t,
        seq: 1,
      });
      expect((await p.featureSpecVersion.findFirst())?.spec).toEqual({ a: [1, 'b'] });
      expect(await p.modelVersion.findUnique({ where: { modelId: 'm' } })).toMatchObject({
        metrics: { v: { mae: 1 } },
        status: 'candidate',
        dataWatermark: t,
        rolledBackAt: t,
      });
      expect(await p.trainingRun.findUnique({ where: { id: 'r' } })).toMatchObject({
        status: 'running',
        kind: 'train',
        config: { x: 1 },
        metrics: { y: 2 },
        checkpointAt: t,
      });
      expect(await p.lock.findUnique({ where: { name: 'l' } })).toMatchObject({ owner: 'o', expiresAt: t });
      expect(await p.setting.findUnique({ where: { key: 'k' } })).toEqual({
        key: 'k',
        value: { scale: [0.5, 4] },
        updatedAt: t,
      });
      // constraints exist: unique event id and foreign keys
      await expect(
        p.interaction.create({
          data: { eventId: 'e', userId: 'u', itemId: 'i', value: 1, kind: 'rating', eventTime: t },
        }),
      ).rejects.toThrow();
      await expect(
        p.interaction.create({
          data: { eventId: 'f', userId: 'nobody', itemId: 'i', value: 1, kind: 'rating', eventTime: t },
        }),
      ).rejects.toThrow();
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

it('migrates one fresh SQLite file from three processes at once: all succeed, each migration applied once', async () => {
  // better-sqlite3 is synchronous, so Promise.all in one process would migrate one after another;
  // separate processes really race for the file (BEGIN IMMEDIATE + busy timeout must serialize them).
  const db = sqliteDatabase();
  try {
    const runs = await runTogether('migrate.ts', [[db.url], [db.url], [db.url]]);
    for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const results = runs.map((r) => r.result as { applied: string[]; alreadyApplied: string[] });
    const names = loadMigrations('sqlite').map((f) => f.name);
    // exactly one process applied each migration; the others saw it already applied
    expect(results.flatMap((r) => r.applied).sort()).toEqual(names);
    for (const r of results) expect([...r.applied, ...r.alreadyApplied].sort()).toEqual(names);
    const raw = new Database(db.url, { readonly: true });
    try {
      const history = raw
        .prepare('SELECT migration_name, finished_at FROM "_prisma_migrations" ORDER BY migration_name')
        .all() as { migration_name: string; finished_at: string | null }[];
      expect(history.map((h) => h.migration_name)).toEqual(names);
      expect(history.every((h) => h.finished_at !== null)).toBe(true);
      const tables = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'model_versions'")
        .all();
      expect(tables).toHaveLength(1);
    } finally {
      raw.close();
    }
  } finally {
    await db.drop();
  }
}, 60_000);

it('refuses a database whose applied migration was edited', async () => {
  const db = sqliteDatabase();
  try {
    await migrate(db.url);
    const raw = new Database(db.url);
    raw.prepare('UPDATE "_prisma_migrations" SET checksum = ?').run('0'.repeat(64));
    raw.close();
    await expect(migrate(db.url)).rejects.toThrow(/modified after it was applied/);
  } finally {
    await db.drop();
  }
});
