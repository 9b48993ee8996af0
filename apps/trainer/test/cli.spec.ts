import { buildCli } from '../src/cli';

describe('trainer CLI', () => {
  it('rejects an unknown command with a non-zero exit code', () => {
    const cli = buildCli({ writeErr: () => undefined });
    expect(() => cli.parse(['node', 'trainer', 'no-such-command'], { from: 'node' })).toThrow();
  });
});
