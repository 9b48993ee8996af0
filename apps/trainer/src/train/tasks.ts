import {
  buildTask,
  compareIds,
  type Dataset,
  rngFor,
  shuffled,
  type Task,
  type TaskRules,
  type UserRecord,
} from '@warmstart/evaluation';

/**
 * Production training tasks: every user with enough ratings is one task (P1's sampling rules),
 * and a seeded `validationFraction` of users is held out to measure the candidate model.
 */
export function trainingTasks(
  dataset: Dataset,
  rules: TaskRules,
  seed: number,
  validationFraction: number,
): { train: Task[]; validation: Task[] } {
  const users = new Map<string, UserRecord>(dataset.users.map((u) => [u.id, u]));
  const byUser = new Map<string, Dataset['ratings']>();
  for (const r of dataset.ratings) {
    const list = byUser.get(r.userId);
    if (list) list.push(r);
    else byUser.set(r.userId, [r]);
  }
  const tasks: Task[] = [];
  for (const userId of [...byUser.keys()].sort(compareIds)) {
    const task = buildTask(
      users.get(userId) ?? { id: userId, features: {} },
      byUser.get(userId)!,
      'train',
      seed,
      rules,
    );
    if (task) tasks.push(task);
  }
  const order = shuffled(tasks, rngFor(seed, 'train-validation'));
  const nValidation = Math.max(tasks.length > 1 ? 1 : 0, Math.round(tasks.length * validationFraction));
  return { validation: order.slice(0, nValidation), train: order.slice(nValidation) };
}
