import type { ServiceDefinition } from '@grpc/grpc-js';
import { RecommendRequest, SERVICE_NAMES } from '@warmstart/contracts';
import type { RecommenderController } from '../controllers/recommender.controller';
import type { StorePort } from '../ports/store.port';

/**
 * One Recommend through what surrounds the service, in process, before the server listens: the
 * bytes a client would send through the server's own request deserializer (the guarded, caching
 * decoder), the controller (request parsing, the service, reply mapping) and the reply
 * serializer. The model version's rehearsal (RecommendService.rehearse) runs the service alone;
 * without this, the first caller paid for the first run of this code (the server's log put the
 * first call at about twice the next ones', inside the interceptor and around it). The user is an
 * inline one whose support is two active items, so nothing is written and no stored user is read.
 * Returns false when there is nothing to rehearse on (no active items).
 */
export async function rehearseTransport(
  definition: Record<string, ServiceDefinition>,
  controller: Pick<RecommenderController, 'recommend'>,
  store: Pick<StorePort, 'activeItems'>,
): Promise<boolean> {
  const { items } = await store.activeItems({ pageSize: 2 });
  if (items.length === 0) return false;
  const method = definition[SERVICE_NAMES.recommender]?.['recommend'];
  if (!method) throw new Error(`the package definition has no ${SERVICE_NAMES.recommender}.recommend`);
  const bytes = RecommendRequest.encode(
    RecommendRequest.fromPartial({
      user: { userId: '', support: items.map((i) => ({ itemId: i.id, value: 1 })) },
      candidates: { source: { $case: 'allActive', value: {} } },
      k: 10,
    }),
  ).finish();
  const request = method.requestDeserialize(Buffer.from(bytes));
  const reply = await controller.recommend(request as Parameters<RecommenderController['recommend']>[0]);
  method.responseSerialize(reply);
  return true;
}
