/**
 * @warmstart/evaluation/testing: small seeded synthetic datasets with real structure, for tests
 * and for trying a method against the protocols before bringing real data.
 */
export { p2Dataset, type P2DatasetOptions } from './p2-dataset';
export { tinyDataset } from './tiny-dataset';
