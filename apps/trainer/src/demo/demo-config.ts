/**
 * The demo's configuration: short meta-training so the whole demo takes a few minutes on a
 * laptop. Synthetic items are released 2020-2022, so P1's "new item" year moves with them (2021 or later is new).
 */
export function demoConfig(synthetic: boolean): Record<string, unknown> {
  return {
    train: { epochs: synthetic ? 3 : 2, metaBatchSize: 32, innerSteps: 2, innerLr: 0.05, outerLr: 0.005 },
    evaluate: {
      seeds: [0],
      baselines: ['global-mean', 'item-bias', 'user-item-bias'],
      learners: [{ name: 'melu', algorithm: 'melu', epochs: synthetic ? 3 : 2 }],
      ...(synthetic ? { p1: { newItemYear: 2021 } } : {}),
    },
  };
}
