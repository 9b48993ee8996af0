-- At most one promoted model version. ModelRegistry.promote/rollback also serialize themselves;
-- this index is the database-level guarantee. Partial indexes cannot be declared in
-- schema.prisma, so it exists only in the migrations (both providers).

-- Repair a registry that already has several promoted versions (concurrent promotes before this
-- migration): keep the most recently promoted one, retire the others.
UPDATE "model_versions" SET "status" = 'retired'
WHERE "status" = 'promoted' AND "modelId" <> (
    SELECT "modelId" FROM "model_versions" WHERE "status" = 'promoted'
    ORDER BY "promotedAt" IS NULL, "promotedAt" DESC, "version" DESC
    LIMIT 1
);

-- CreateIndex
CREATE UNIQUE INDEX "model_versions_one_promoted_key" ON "model_versions"("status") WHERE "status" = 'promoted';
