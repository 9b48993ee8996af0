// Shared Jest set-up. @swc/jest keeps decorator metadata (NestJS needs emitDecoratorMetadata;
// esbuild-based runners drop it). Workspace packages resolve to their TypeScript sources so
// tests never need a prior build.
const path = require('node:path');

/** @param {string} projectDir */
module.exports = (projectDir) => ({
  displayName: path.basename(projectDir),
  rootDir: projectDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/{src,test}/**/*.{spec,test}.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^@warmstart/(contracts|core|evaluation|feature-store)$': path.join(__dirname, 'libs/$1/src/index.ts'),
    '^@warmstart/evaluation/testing$': path.join(__dirname, 'libs/evaluation/src/testing/index.ts'),
    '^@warmstart/feature-store/registry$': path.join(__dirname, 'libs/feature-store/src/registry/index.ts'),
  },
  testTimeout: 60000,
});
