-- Store-wide settings by key, e.g. "dataset_profile": the feedback kind, rating scale and whether
-- the data has event times, written by the importers and read by training and evaluation.

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" JSONB NOT NULL,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
