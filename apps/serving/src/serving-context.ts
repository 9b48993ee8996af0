import type { Logger } from 'pino';
import type { AdaptedCache } from './cache/adapted-cache';
import type { ServingConfig } from './config/config';
import type { ModelManager } from './slots/model-manager';
import type { ServingMetrics } from './observability/metrics';
import type { StorePort } from './ports/store.port';
import type { ActiveCatalog } from './recommend/active-catalog';
import type { RecommendService } from './recommend/recommend.service';

/** Everything the controllers use, built once per server and provided to Nest as one value. */
export class ServingContext {
  constructor(
    readonly config: ServingConfig,
    readonly store: StorePort,
    readonly models: ModelManager,
    readonly cache: AdaptedCache,
    readonly catalog: ActiveCatalog,
    readonly recommender: RecommendService,
    readonly metrics: ServingMetrics,
    readonly log: Logger,
  ) {}
}
