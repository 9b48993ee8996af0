import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/** Packages of the database and transport layers, which the pure libraries may not import. */
const DATABASE_AND_TRANSPORT = ['@prisma/*', 'prisma', 'pg', 'better-sqlite3', '@grpc/*', '@nestjs/*'];

/** A layer rule: files matching `files` may not import modules matching `group`. */
function forbidImports(files, group, message) {
  return { files, rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message }] }] } };
}

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/.nx/**', 'libs/contracts/src/gen/**'],
  },
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Architecture (docs/architecture.md, "Packages"): apps -> libs; core has no database, gRPC or NestJS;
      // nothing imports an app.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            {
              sourceTag: 'scope:core',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: [...DATABASE_AND_TRANSPORT, 'ts-proto'],
            },
            {
              sourceTag: 'scope:contracts',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: ['@nestjs/*'],
            },
            {
              // Evaluation is a library of pure computation: datasets come in memory, results go
              // out as values (its report schema); files, databases and the network stay in apps.
              sourceTag: 'scope:evaluation',
              onlyDependOnLibsWithTags: ['scope:core'],
              bannedExternalImports: [...DATABASE_AND_TRANSPORT, 'vega', 'vega-lite', 'pino'],
            },
            {
              sourceTag: 'scope:feature-store',
              onlyDependOnLibsWithTags: ['scope:core'],
              bannedExternalImports: ['@grpc/*', '@nestjs/*'],
            },
          ],
        },
      ],
    },
  },
  // Serving's domain speaks domain types and errors (src/domain/errors.ts); only the edge
  // (grpc/, controllers/, validation/ which turns proto requests into domain input) knows
  // the transport and the generated proto types.
  forbidImports(
    ['apps/serving/src/{domain,recommend,batching,slots,cache}/**/*.ts'],
    ['**/grpc/*', '@grpc/*', '@warmstart/contracts'],
    'domain code must not know the transport: domain types and errors (src/domain/errors.ts); the edge maps them',
  ),
  // Validation turns proto requests into domain input: it may read the proto types, not grpc.
  forbidImports(
    ['apps/serving/src/validation/**/*.ts'],
    ['**/grpc/*', '@grpc/*'],
    'validation throws domain errors (src/domain/errors.ts); the edge maps them',
  ),
  // The evaluation library does no I/O (see its depConstraint above).
  forbidImports(
    ['libs/evaluation/src/**/*.ts'],
    ['fs', 'fs/*', 'node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:http2', 'node:child_process'],
    'the evaluation library does no I/O: the caller reads and writes (apps/trainer)',
  ),
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
