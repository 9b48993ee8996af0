import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { ImportError } from '../src';
import { MAX_LINE_BYTES, streamLines, type BadLine, type Line } from '../src/importers/lines';
import { CHILDREN } from './helpers/children';

const run = promisify(execFile);

async function all(file: string): Promise<(Line | BadLine)[]> {
  const out: (Line | BadLine)[] = [];
  for await (const batch of streamLines(file)) out.push(...batch);
  return out;
}

describe('streamLines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lines-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('numbers lines across read chunks, drops empty lines, CRs and a byte order mark', async () => {
    // ~3 MB of lines of varying length, so lines straddle the 1 MiB chunk boundaries
    const expected: Line[] = [];
    const parts: string[] = [];
    for (let i = 1; i <= 40_000; i++) {
      const text = i % 1000 === 0 ? '' : `${i},${'é'.repeat(i % 97)},end`;
      parts.push(i % 3 === 0 ? `${text}\r` : text);
      if (text !== '') expected.push({ line: i, text });
    }
    const file = join(dir, 'many.csv');
    writeFileSync(file, '\ufeff' + parts.join('\n'));
    expected[0] = { line: 1, text: expected[0].text };
    expect(await all(file)).toEqual(expected);
  });

  it('reports invalid UTF-8 and over-long lines with their numbers and reads on', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('a\nb'),
        Buffer.from([0xff]),
        Buffer.from('\n'),
        Buffer.alloc(MAX_LINE_BYTES + 10, 0x61),
        Buffer.from('\nc\n'),
      ]),
    );
    expect(await all(file)).toEqual([
      { line: 1, text: 'a' },
      { line: 2, problem: { field: 'encoding', message: 'is not valid UTF-8' } },
      { line: 3, problem: { field: 'row', message: `is longer than ${MAX_LINE_BYTES} bytes` } },
      { line: 4, text: 'c' },
    ]);
  });

  it('says a missing file does not exist', async () => {
    const err = await all(join(dir, 'nope.csv')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as Error).message).toBe(`${join(dir, 'nope.csv')}: the file does not exist`);
    await expect(all(dir)).rejects.toThrow(`${dir}: is a directory, not a file`);
  });

  it('reads a file of any size in bounded memory: 256 MB through a 48 MB heap', async () => {
    // Reading it whole (a 256 MB buffer decoded into a 256 MB string) cannot fit that heap.
    const file = join(dir, 'huge.csv');
    const block = Buffer.from('user_1234,item_5678,4,1600000000\n'.repeat(32_768)); // ~1.1 MB
    const fd = openSync(file, 'w');
    let lines = 0;
    for (let written = 0; written < 256 << 20; written += block.length, lines += 32_768) writeSync(fd, block);
    closeSync(fd);
    try {
      const { stdout } = await run(process.execPath, [
        '--max-old-space-size=48',
        '-r',
        join(__dirname, 'helpers/register-ts.cjs'),
        join(CHILDREN, 'stream-lines.ts'),
        file,
      ]);
      const result = JSON.parse(
        stdout
          .split('\n')
          .find((l) => l.startsWith('result '))!
          .slice(7),
      ) as {
        lines: number;
        peakRss: number;
      };
      expect(result.lines).toBe(lines);
      expect(result.peakRss).toBeLessThan(256 << 20);
    } finally {
      rmSync(file);
    }
  }, 60_000);
});
