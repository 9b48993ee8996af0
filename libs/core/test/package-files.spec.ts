/**
 * What an installed @warmstart/core needs to build its native kernels must be in the package:
 * every source binding.gyp compiles and every local header those sources include.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

describe('package files', () => {
  it('ship every native source and local header the binding builds', () => {
    const files = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }).files;
    const gyp = JSON.parse(readFileSync(join(root, 'native/binding.gyp'), 'utf8')) as {
      targets: { sources: string[] }[];
    };
    const sources = gyp.targets.flatMap((t) => t.sources);
    expect(sources.length).toBeGreaterThan(0);
    const headers = sources.flatMap((s) =>
      [...readFileSync(join(root, 'native', s), 'utf8').matchAll(/^#include "([^"]+)"/gm)].map((m) => m[1]!),
    );
    for (const f of [...sources, ...headers, 'binding.gyp', 'build.cjs'])
      expect(files).toContain(`native/${f}`);
  });
});
