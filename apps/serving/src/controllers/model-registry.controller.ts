import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import {
  ModelStatus,
  type GetModelRequest,
  type GetModelResponse,
  type ListModelsRequest,
  type ListModelsResponse,
  type ModelRegistryServiceServer,
  type PromoteModelRequest,
  type PromoteModelResponse,
  type RollbackModelRequest,
  type RollbackModelResponse,
} from '@warmstart/contracts';
import { InvalidInput } from '../domain/errors';
import { notFound } from '../grpc/errors';
import { modelStatusFromProto, toProtoModel } from '../grpc/mappers';
import type { PromotionResult } from '../ports/store.port';
import type { UnaryController } from '@warmstart/contracts';
import { ServingContext } from '../serving-context';
import { requireId } from '../validation/fields';
import { parsePage } from '../validation/feature-store.requests';

const SERVICE = 'ModelRegistryService';

@Controller()
export class ModelRegistryController implements UnaryController<ModelRegistryServiceServer> {
  constructor(private readonly ctx: ServingContext) {}

  @GrpcMethod(SERVICE, 'listModels')
  async listModels(request: ListModelsRequest): Promise<ListModelsResponse> {
    const query = parsePage(request.page);
    let status: ReturnType<typeof modelStatusFromProto>;
    if (request.status !== ModelStatus.MODEL_STATUS_UNSPECIFIED) {
      status = modelStatusFromProto(request.status);
      if (status === undefined) throw new InvalidInput('status', `unknown model status ${request.status}`);
    }
    const page = await this.ctx.store.registry.listModels(status ? { ...query, status } : query);
    return { models: page.items.map(toProtoModel), nextPageToken: page.nextCursor ?? '' };
  }

  @GrpcMethod(SERVICE, 'getModel')
  async getModel(request: GetModelRequest): Promise<GetModelResponse> {
    const id = requireId(request.modelId, 'model_id');
    const model = await this.ctx.store.registry.getModel(id);
    if (model === undefined) throw notFound(`model "${id}" not found`);
    return { model: toProtoModel(model) };
  }

  @GrpcMethod(SERVICE, 'promoteModel')
  async promoteModel(request: PromoteModelRequest): Promise<PromoteModelResponse> {
    const id = requireId(request.modelId, 'model_id');
    if ((await this.ctx.store.registry.getModel(id)) === undefined) throw notFound(`model "${id}" not found`);
    return this.switched(await this.ctx.store.registry.promote(id));
  }

  @GrpcMethod(SERVICE, 'rollbackModel')
  async rollbackModel(_request: RollbackModelRequest): Promise<RollbackModelResponse> {
    return this.switched(await this.ctx.store.registry.rollback());
  }

  /** This replica switches now (others on their next registry poll); a failed load keeps the old one. */
  private async switched(result: PromotionResult): Promise<PromoteModelResponse> {
    await this.ctx.models.refresh();
    const reply: PromoteModelResponse = { model: toProtoModel(result.model) };
    if (result.previous) reply.previous = toProtoModel(result.previous);
    return reply;
  }
}
