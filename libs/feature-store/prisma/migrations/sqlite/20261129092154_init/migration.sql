-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "user_features" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "userId" TEXT NOT NULL,
    "field" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,
    "text" TEXT,
    "number" REAL,
    "validFrom" DATETIME NOT NULL,
    "validTo" DATETIME,
    CONSTRAINT "user_features_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "items" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "availableAt" DATETIME,
    "status" TEXT NOT NULL DEFAULT 'active'
);

-- CreateTable
CREATE TABLE "item_features" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "itemId" TEXT NOT NULL,
    "field" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,
    "text" TEXT,
    "number" REAL,
    "validFrom" DATETIME NOT NULL,
    "validTo" DATETIME,
    CONSTRAINT "item_features_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "items" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "interactions" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "eventId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "value" REAL NOT NULL,
    "kind" TEXT NOT NULL,
    "eventTime" DATETIME NOT NULL,
    "ingestedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "interactions_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "interactions_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "items" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "feature_spec_versions" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "spec" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "model_versions" (
    "modelId" TEXT NOT NULL PRIMARY KEY,
    "version" INTEGER NOT NULL,
    "algorithm" TEXT NOT NULL,
    "artifactUri" TEXT NOT NULL,
    "metrics" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'candidate',
    "dataWatermark" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "promotedAt" DATETIME,
    "rolledBackAt" DATETIME,
    "runId" TEXT
);

-- CreateTable
CREATE TABLE "training_runs" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL DEFAULT 'train',
    "status" TEXT NOT NULL DEFAULT 'running',
    "config" JSONB NOT NULL,
    "metrics" JSONB,
    "error" TEXT,
    "checkpoint" TEXT,
    "checkpointAt" DATETIME,
    "heartbeatAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME
);

-- CreateTable
CREATE TABLE "locks" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "owner" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE INDEX "user_features_userId_validTo_idx" ON "user_features"("userId", "validTo");

-- CreateIndex
CREATE INDEX "user_features_field_text_idx" ON "user_features"("field", "text");

-- CreateIndex
CREATE INDEX "items_status_id_idx" ON "items"("status", "id");

-- CreateIndex
CREATE INDEX "items_availableAt_id_idx" ON "items"("availableAt", "id");

-- CreateIndex
CREATE INDEX "item_features_itemId_validTo_idx" ON "item_features"("itemId", "validTo");

-- CreateIndex
CREATE INDEX "item_features_field_text_idx" ON "item_features"("field", "text");

-- CreateIndex
CREATE UNIQUE INDEX "interactions_eventId_key" ON "interactions"("eventId");

-- CreateIndex
CREATE INDEX "interactions_userId_eventTime_idx" ON "interactions"("userId", "eventTime");

-- CreateIndex
CREATE INDEX "interactions_userId_seq_idx" ON "interactions"("userId", "seq");

-- CreateIndex
CREATE INDEX "interactions_itemId_idx" ON "interactions"("itemId");

-- CreateIndex
CREATE INDEX "interactions_eventTime_idx" ON "interactions"("eventTime");

-- CreateIndex
CREATE UNIQUE INDEX "feature_spec_versions_name_version_key" ON "feature_spec_versions"("name", "version");

-- CreateIndex
CREATE UNIQUE INDEX "model_versions_version_key" ON "model_versions"("version");

-- CreateIndex
CREATE INDEX "model_versions_status_idx" ON "model_versions"("status");

-- CreateIndex
CREATE INDEX "training_runs_status_startedAt_idx" ON "training_runs"("status", "startedAt");
