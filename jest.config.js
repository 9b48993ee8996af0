// `npm test` runs every project in one Jest invocation and ends with "N passed, N failed".
module.exports = {
  projects: [
    'libs/contracts',
    'libs/core',
    'libs/feature-store',
    'libs/evaluation',
    'apps/trainer',
    'apps/serving',
  ].map((p) => `<rootDir>/${p}/jest.config.js`),
  // A global option: projects' own testTimeout is ignored when they run together.
  testTimeout: 60000,
  reporters: ['<rootDir>/tools/jest/default-reporter.js', '<rootDir>/tools/jest/summary-reporter.js'],
};
