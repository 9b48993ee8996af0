import { textTokens } from '@warmstart/core';
import type { Dataset, FeatureValue } from '@warmstart/evaluation';
import type { TrainerConfig } from '../config/schema';

/**
 * The dataset with every `text` field's values replaced by their words (core textTokens), as
 * lists. The model reads either form the same way (a bag of words); the evaluation's content
 * baselines (content-kNN, the content regressions) read a string as one category and a list as
 * several, so with the words they see the content the model sees, not one title per item.
 */
export function withTextWords(dataset: Dataset, features: TrainerConfig['features']): Dataset {
  const words = (side: 'user' | 'item') => features[side].filter((f) => f.kind === 'text').map((f) => f.name);
  const convert = <R extends { features: Record<string, FeatureValue> }>(records: R[], fields: string[]): R[] =>
    fields.length === 0
      ? records
      : records.map((r) => {
          const out: Record<string, FeatureValue> = { ...r.features };
          for (const name of fields) if (name in out) out[name] = [...textTokens(out[name])];
          return { ...r, features: out };
        });
  return {
    ...dataset,
    users: convert(dataset.users, words('user')),
    items: convert(dataset.items, words('item')),
  };
}
