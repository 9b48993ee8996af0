import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type {
  RecommendRequest,
  RecommendResponse,
  RecommenderServiceServer,
  ScoreRequest,
  ScoreResponse,
} from '@warmstart/contracts';
import { deadlineOf, signalOf } from '../grpc/call-context';
import { toRecommendResponse, toScoreResponse } from '../grpc/mappers';
import type { DecodedRecommendRequest } from '../grpc/recommend-decoding';
import type { UnaryController } from '@warmstart/contracts';
import { ServingContext } from '../serving-context';
import { parseRecommend, parseScore } from '../validation/recommend.requests';

// ts-proto keeps camelCase method keys in the service definition, so Nest matches handlers by them.
const SERVICE = 'RecommenderService';

@Controller()
export class RecommenderController implements UnaryController<RecommenderServiceServer> {
  constructor(private readonly ctx: ServingContext) {}

  @GrpcMethod(SERVICE, 'recommend')
  async recommend(
    // What the server's Recommend deserializer gives (a RecommendRequest plus its list's key).
    request: DecodedRecommendRequest,
    _metadata?: Metadata,
    call?: ServerUnaryCall<RecommendRequest, RecommendResponse>,
  ): Promise<RecommendResponse> {
    const parsed = parseRecommend(request, this.ctx.config);
    return toRecommendResponse(
      await this.ctx.recommender.recommend(parsed, deadlineOf(call), signalOf(call)),
    );
  }

  @GrpcMethod(SERVICE, 'score')
  async score(
    request: ScoreRequest,
    _metadata?: Metadata,
    call?: ServerUnaryCall<ScoreRequest, ScoreResponse>,
  ): Promise<ScoreResponse> {
    const { user, itemIds } = parseScore(request, this.ctx.config);
    return toScoreResponse(await this.ctx.recommender.score(user, itemIds, deadlineOf(call), signalOf(call)));
  }
}
