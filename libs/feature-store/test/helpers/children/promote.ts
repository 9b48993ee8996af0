// Child process: opens the store at argv[2] and, once every sibling is ready, promotes the model
// ids of the JSON list argv[3] one after another.
import { openFeatureStore } from '../../../src';
import { finish, ready } from '../child-runtime';

finish(
  (async () => {
    const store = await openFeatureStore(process.argv[2], { migrate: false });
    try {
      await ready();
      for (const id of JSON.parse(process.argv[3]) as string[]) await store.registry.promote(id);
      return 'ok';
    } finally {
      await store.close();
    }
  })(),
);
