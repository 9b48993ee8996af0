/**
 * A plain @grpc/grpc-js client of RecommenderService, compiled against @warmstart/contracts:
 *   npx tsc -p tools/grpc-client && node tools/grpc-client/dist/recommend.js 127.0.0.1:50051 <user-id> [k]
 * It shows what another team's service needs: the generated client, no NestJS, no proto files.
 */
import { Metadata, credentials } from '@grpc/grpc-js';
import { RecommendRequest, RecommenderServiceClient, type RecommendResponse } from '@warmstart/contracts';

async function main(): Promise<void> {
  const [address = '127.0.0.1:50051', userId = '1', k = '10'] = process.argv.slice(2);
  const client = new RecommenderServiceClient(address, credentials.createInsecure());
  const request = RecommendRequest.fromPartial({ user: { userId }, k: Number(k) });
  const reply = await new Promise<RecommendResponse>((resolve, reject) =>
    client.recommend(request, new Metadata(), { deadline: Date.now() + 5000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
  console.log(`model ${reply.model?.modelId} v${reply.model?.version}, support ${reply.supportSize}`);
  for (const item of reply.items)
    console.log(`${item.itemId}\t${item.score.toFixed(3)}${item.coldItem ? '\t(new)' : ''}`);
  client.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
