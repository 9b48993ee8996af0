-- Store-wide settings by key, e.g. "dataset_profile": the feedback kind, rating scale and whether
-- the data has event times, written by the importers and read by training and evaluation.

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);
