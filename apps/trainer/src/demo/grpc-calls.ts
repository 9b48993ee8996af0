import { credentials, type ServiceError } from '@grpc/grpc-js';
import {
  FeatureStoreServiceClient,
  IngestInteractionsRequest,
  InteractionKind,
  RecommendRequest,
  RecommenderServiceClient,
  ScoreRequest,
  UpsertItemsRequest,
  toTimestamp,
  type FeatureValue,
  type UserContext,
  type RecommendResponse,
  type ScoreResponse,
} from '@warmstart/contracts';

type Call<Req, Res> = (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown;

function unary<Req, Res>(fn: Call<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

export const categorical = (value: string): FeatureValue => ({ kind: { $case: 'categorical', value } });
export const numeric = (value: number): FeatureValue => ({ kind: { $case: 'numeric', value } });
export const multi = (values: string[]): FeatureValue => ({
  kind: { $case: 'multiCategorical', value: { values } },
});

/** Real grpc-js clients built from the generated contracts. */
export class DemoClients {
  readonly recommender: RecommenderServiceClient;
  readonly featureStore: FeatureStoreServiceClient;

  constructor(address: string) {
    this.recommender = new RecommenderServiceClient(address, credentials.createInsecure());
    this.featureStore = new FeatureStoreServiceClient(address, credentials.createInsecure());
  }

  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.recommender.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())),
    );
  }

  recommend(req: RecommendRequest): Promise<RecommendResponse> {
    return unary(
      this.recommender.recommend.bind(this.recommender) as Call<RecommendRequest, RecommendResponse>,
      req,
    );
  }

  score(req: ScoreRequest): Promise<ScoreResponse> {
    return unary(this.recommender.score.bind(this.recommender) as Call<ScoreRequest, ScoreResponse>, req);
  }

  upsertItems(req: UpsertItemsRequest): Promise<unknown> {
    return unary(
      this.featureStore.upsertItems.bind(this.featureStore) as Call<UpsertItemsRequest, unknown>,
      req,
    );
  }

  ingestInteractions(req: IngestInteractionsRequest): Promise<unknown> {
    return unary(
      this.featureStore.ingestInteractions.bind(this.featureStore) as Call<
        IngestInteractionsRequest,
        unknown
      >,
      req,
    );
  }

  close(): void {
    this.recommender.close();
    this.featureStore.close();
  }
}

export {
  IngestInteractionsRequest,
  InteractionKind,
  RecommendRequest,
  ScoreRequest,
  UpsertItemsRequest,
  toTimestamp,
  type UserContext,
};
