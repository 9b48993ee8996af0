#!/usr/bin/env node
// `npm run demo`: the end-to-end path on the embedded default. Delegates to the trainer's
// `demo` command once it exists; until then it exercises the contracts over a real gRPC call.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const trainerDemo = `${root}apps/trainer/dist/demo/run-demo.js`;
if (existsSync(trainerDemo)) {
  const res = spawnSync(process.execPath, [trainerDemo, ...process.argv.slice(2)], {
    stdio: 'inherit',
    cwd: root,
  });
  process.exit(res.status ?? 1);
}

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const c = require('@warmstart/contracts');
const server = new grpc.Server();
server.addService(c.RecommenderServiceService, {
  recommend: (call, cb) =>
    cb(null, {
      items: [{ itemId: 'demo-item', score: 4, coldItem: true }],
      model: { modelId: 'none', version: 0 },
      supportSize: call.request.user?.support?.length ?? 0,
      adaptedFromCache: false,
    }),
  score: (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not yet' }),
});
const port = await new Promise((res, rej) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
);
const client = new c.RecommenderServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const reply = await new Promise((res, rej) =>
  client.recommend(
    c.RecommendRequest.fromPartial({ user: { userId: 'u1', support: [{ itemId: 'i1', value: 5 }] }, k: 1 }),
    (e, r) => (e ? rej(e) : res(r)),
  ),
);
console.log(`demo: gRPC Recommend round trip over 127.0.0.1:${port} -> ${JSON.stringify(reply.items)}`);
console.log(
  'demo: the trainer and server are not built yet; this checked the generated contracts end to end.',
);
client.close();
server.forceShutdown();
