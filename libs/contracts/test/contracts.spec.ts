import { Server, ServerCredentials, credentials, type ServiceError } from '@grpc/grpc-js';
import {
  RecommendRequest,
  RecommendResponse,
  RecommenderServiceClient,
  RecommenderServiceService,
  SERVICE_NAMES,
  fromTimestamp,
  packageDefinition,
  toTimestamp,
  ScoreResponse,
  type RecommenderServiceServer,
  type UnaryController,
} from '../src';

describe('@warmstart/contracts', () => {
  it('round-trips a recommend request with a oneof, a map and a timestamp through the wire codec', () => {
    const request: RecommendRequest = RecommendRequest.fromPartial({
      user: {
        userId: 'u1',
        features: { age: { kind: { $case: 'numeric', value: 31 } } },
        support: [{ itemId: 'i9', value: 4, eventTime: toTimestamp(new Date('2026-01-02T03:04:05.678Z')) }],
      },
      candidates: { source: { $case: 'availableSince', value: toTimestamp(new Date(0)) } },
      k: 10,
    });
    const decoded = RecommendRequest.decode(RecommendRequest.encode(request).finish());
    expect(decoded).toEqual(request);
    expect(fromTimestamp(decoded.user!.support[0].eventTime!).toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  it('exposes every service under its fully-qualified name', () => {
    expect(Object.keys(packageDefinition).sort()).toEqual(Object.values(SERVICE_NAMES).sort());
    expect(packageDefinition[SERVICE_NAMES.recommender]).toBe(RecommenderServiceService);
  });

  it('serves and calls a generated service over a real grpc-js connection', async () => {
    const server = new Server();
    const impl: RecommenderServiceServer = {
      recommend: (call, callback) =>
        callback(
          null,
          RecommendResponse.fromPartial({
            items: [{ itemId: `top-for-${call.request.user?.userId}`, score: 4.5 }],
            model: { modelId: 'm1', version: 3 },
          }),
        ),
      score: (_call, callback) =>
        callback({ code: 12, details: 'not implemented here' } as ServiceError, null),
    };
    server.addService(RecommenderServiceService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const client = new RecommenderServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const reply = await new Promise<RecommendResponse>((resolve, reject) =>
        client.recommend(RecommendRequest.fromPartial({ user: { userId: 'alice' }, k: 1 }), (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
      expect(reply.items.map((i) => i.itemId)).toEqual(['top-for-alice']);
      expect(reply.model).toEqual({ modelId: 'm1', version: 3 });
      const error = await new Promise<ServiceError>((resolve) =>
        client.score({ user: undefined, itemIds: [] }, (err) => resolve(err!)),
      );
      expect(error.code).toBe(12);
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    }
  });
});

describe('UnaryController', () => {
  it('is implementable by a class and keeps the generated request/response types', async () => {
    class Controller implements UnaryController<RecommenderServiceServer> {
      async recommend(request: RecommendRequest): Promise<RecommendResponse> {
        return RecommendResponse.fromPartial({ supportSize: request.user?.support.length ?? 0 });
      }
      async score(): Promise<ScoreResponse> {
        return ScoreResponse.fromPartial({});
      }
    }
    const reply = await new Controller().recommend(
      RecommendRequest.fromPartial({ user: { support: [{ itemId: 'a', value: 1 }] } }),
    );
    expect(reply.supportSize).toBe(1);
  });
});
