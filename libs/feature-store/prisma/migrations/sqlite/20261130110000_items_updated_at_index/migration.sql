-- itemsWatermark reads MAX("updatedAt") of items on every serving replica about once a second:
-- an index makes that a lookup instead of a scan of the catalog.

-- CreateIndex
CREATE INDEX "items_updatedAt_idx" ON "items"("updatedAt");
