import { createReadStream, readFileSync, statSync } from 'node:fs';
import { ImportError } from '../errors';

/** A non-empty line of a text file with its 1-based number. */
export interface Line {
  line: number;
  text: string;
}

/** A line that could not be read as text: invalid UTF-8, or longer than `MAX_LINE_BYTES`. */
export interface BadLine {
  line: number;
  problem: { field: 'encoding' | 'row'; message: string };
}

/** Longest line read; longer ones are bad rows (so a file without newlines cannot exhaust memory). */
export const MAX_LINE_BYTES = 1 << 20;
const CHUNK_BYTES = 1 << 20;

/** An ImportError for a file that cannot be opened, saying why in words (it does not exist, ...). */
export function unreadable(file: string, err: unknown): ImportError {
  const code = (err as { code?: string }).code;
  const detail =
    code === 'ENOENT'
      ? 'the file does not exist'
      : code === 'EISDIR'
        ? 'is a directory, not a file'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : `cannot be read (${(err as Error).message})`;
  return new ImportError(file, 0, 'file', detail);
}

/** Size of a readable regular file in bytes; an ImportError (line 0) saying why otherwise. */
export function fileSize(file: string): number {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    size = st.size;
  } catch (err) {
    throw unreadable(file, err);
  }
  return size;
}

/** Reads a whole text file (MovieLens files, Latin-1: every byte is valid). */
export function readText(file: string, encoding: 'latin1'): string {
  try {
    return readFileSync(file).toString(encoding);
  } catch (err) {
    throw unreadable(file, err);
  }
}

/**
 * The non-empty lines of `text` one at a time (numbered from 1, a trailing `\r` dropped), without
 * an array of them: a large file's lines die young instead of surviving to be copied by the GC.
 */
export function* eachLine(text: string): Generator<Line> {
  let start = 0;
  for (let line = 1; start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const t = text.slice(start, text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (t.trim() !== '') yield { line, text: t };
  }
}

/**
 * Reads a small text file whole (MovieLens files, Latin-1: every byte is valid). Generic imports
 * stream with `streamLines` instead.
 */
export function readLines(file: string, encoding: 'latin1'): Line[] {
  return [...eachLine(readText(file, encoding))];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes `buf` (whole lines, from line `first`) into lines; invalid UTF-8 is reported per line. */
function decodeLines(buf: Buffer, first: number, out: (Line | BadLine)[]): void {
  let text: string | null = null;
  try {
    text = decoder.decode(buf);
  } catch {
    // Some line in this block is not UTF-8: decode line by line to name it.
  }
  if (text !== null) {
    const parts = text.split('\n');
    for (let i = 0; i < parts.length; i++) push(out, first + i, parts[i]);
    return;
  }
  let start = 0;
  for (let n = first; start <= buf.length; n++) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    try {
      push(out, n, decoder.decode(buf.subarray(start, end)));
    } catch {
      out.push({ line: n, problem: { field: 'encoding', message: 'is not valid UTF-8' } });
    }
    start = end + 1;
  }
}

function push(out: (Line | BadLine)[], line: number, raw: string): void {
  let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 byte order mark
  if (text.trim() !== '') out.push({ line, text });
}

/**
 * Streams a UTF-8 text file as batches of non-empty lines (one batch per chunk read), in bounded
 * memory at any file size. Lines that are not valid UTF-8 or longer than `MAX_LINE_BYTES` come as
 * `BadLine`s with their number. `onBytes` reports how many bytes were read so far.
 */
export async function* streamLines(
  file: string,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<(Line | BadLine)[]> {
  fileSize(file); // a missing file or a directory fails here, naming the file
  const stream = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  let carry: Buffer[] = []; // the unfinished line from previous chunks
  let carryBytes = 0;
  let tooLong = false; // the current line passed MAX_LINE_BYTES: drop bytes until its end
  let line = 1; // number of the first line not yet emitted
  let read = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      read += chunk.length;
      const out: (Line | BadLine)[] = [];
      let start = 0;
      const firstNl = chunk.indexOf(0x0a);
      if (firstNl >= 0 && (carryBytes > 0 || tooLong)) {
        // Finish the carried line.
        if (tooLong || carryBytes + firstNl > MAX_LINE_BYTES) out.push(longLine(line));
        else decodeLines(Buffer.concat([...carry, chunk.subarray(0, firstNl)]), line, out);
        line++;
        carry = [];
        carryBytes = 0;
        tooLong = false;
        start = firstNl + 1;
      }
      if (firstNl < 0 || tooLong) {
        if (!tooLong) {
          carry.push(chunk);
          carryBytes += chunk.length;
          if (carryBytes > MAX_LINE_BYTES) {
            tooLong = true;
            carry = [];
            carryBytes = 0;
          }
        }
      } else {
        const lastNl = chunk.lastIndexOf(0x0a);
        if (lastNl >= start) {
          const block = chunk.subarray(start, lastNl);
          decodeLines(block, line, out);
          line += countNewlines(block) + 1;
        }
        const rest = chunk.subarray(lastNl + 1);
        if (rest.length > MAX_LINE_BYTES) tooLong = true;
        else if (rest.length > 0) {
          carry = [Buffer.from(rest)];
          carryBytes = rest.length;
        }
      }
      onBytes?.(read);
      if (out.length > 0) yield out;
    }
    const out: (Line | BadLine)[] = [];
    if (tooLong) out.push(longLine(line));
    else if (carryBytes > 0) decodeLines(Buffer.concat(carry), line, out);
    if (out.length > 0) yield out;
  } catch (err) {
    if ((err as { code?: string }).code) throw unreadable(file, err);
    throw err;
  } finally {
    stream.destroy();
  }
}

function longLine(line: number): BadLine {
  return { line, problem: { field: 'row', message: `is longer than ${MAX_LINE_BYTES} bytes` } };
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}
