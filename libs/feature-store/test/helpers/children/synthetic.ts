// Child process: generates synthetic data from the JSON options in argv[2] and reports its shape
// (run in a child so that a generator that never terminates fails the test instead of hanging Jest).
import { generateSynthetic } from '../../../src/importers/synthetic';
import { finish, ready } from '../child-runtime';

finish(
  ready().then(() => {
    const data = generateSynthetic(JSON.parse(process.argv[2]) as Record<string, number>);
    const perUser: Record<string, number> = {};
    let count = 0;
    for (const r of data.interactions) {
      perUser[r.userId] = (perUser[r.userId] ?? 0) + 1;
      count++;
    }
    return { users: data.users.length, items: data.items.length, count, perUser };
  }),
);
