import { readFileSync } from 'node:fs';
import { ImportError } from '../errors';

/** A non-empty line of a text file with its 1-based number. */
export interface Line {
  line: number;
  text: string;
}

/**
 * Reads a text file as lines. `utf8` files must be valid UTF-8 (the first bad line is named);
 * MovieLens files are Latin-1, where every byte is valid.
 */
export function readLines(file: string, encoding: 'utf8' | 'latin1'): Line[] {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new ImportError(file, 0, 'file', (err as Error).message);
  }
  let text: string;
  if (encoding === 'utf8') {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      const decoder = new TextDecoder('utf-8', { fatal: true });
      let start = 0;
      let line = 1;
      for (let i = 0; i <= buf.length; i++) {
        if (i === buf.length || buf[i] === 0x0a) {
          try {
            decoder.decode(buf.subarray(start, i));
          } catch {
            throw new ImportError(file, line, 'encoding', 'is not valid UTF-8');
          }
          start = i + 1;
          line++;
        }
      }
      throw new ImportError(file, 0, 'encoding', 'is not valid UTF-8');
    }
  } else text = buf.toString('latin1');
  const out: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const t = raw.replace(/\r$/, '');
    if (t.trim() !== '') out.push({ line: i + 1, text: t });
  });
  return out;
}
