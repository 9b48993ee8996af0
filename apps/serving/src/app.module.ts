import { type DynamicModule, Module } from '@nestjs/common';
import { FeatureStoreController } from './controllers/feature-store.controller';
import { ModelRegistryController } from './controllers/model-registry.controller';
import { RecommenderController } from './controllers/recommender.controller';
import { ServingContext } from './serving-context';

/** The Nest module: three gRPC controllers sharing one ServingContext. */
@Module({})
export class AppModule {
  static forRoot(context: ServingContext): DynamicModule {
    return {
      module: AppModule,
      controllers: [RecommenderController, FeatureStoreController, ModelRegistryController],
      providers: [{ provide: ServingContext, useValue: context }],
    };
  }
}
