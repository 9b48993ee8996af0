import { Writable } from 'node:stream';

/**
 * A minimal terminal: applies what is written to it (text, CR/LF, and the cursor, erase and
 * style sequences that readline and cli-progress emit) to a grid of lines, so a test can read the
 * screen a person would see.
 */
export class Screen {
  private rows: string[][] = [[]];
  private row = 0;
  private col = 0;
  private saved: [number, number] = [0, 0];
  readonly stream: NodeJS.WriteStream;

  constructor(columns = 160) {
    const stream = new Writable({
      write: (chunk: Buffer | string, _enc, done) => {
        this.apply(chunk.toString());
        done();
      },
      decodeStrings: false,
    }) as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
    stream.isTTY = true;
    stream.columns = columns;
    // Writable.write is asynchronous in the stream machinery but calls `write` above at once
    // when nothing is buffered; keep it strictly synchronous anyway.
    stream.write = ((chunk: string | Uint8Array) => {
      this.apply(chunk.toString());
      return true;
    }) as NodeJS.WriteStream['write'];
    this.stream = stream;
  }

  /** The visible lines, trailing blanks trimmed. */
  lines(): string[] {
    const out = this.rows.map((r) => r.join('').replace(/\s+$/, ''));
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    return out;
  }

  private line(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row];
  }

  private apply(text: string): void {
    // ESC [ params final | ESC 7 / ESC 8 | a character
    const tokens = text.match(/\x1b\[[?0-9;]*[A-Za-z]|\x1b[78]|[\s\S]/g) ?? [];
    for (const t of tokens) {
      if (t === '\n') {
        this.row++;
        this.col = 0;
        this.line();
      } else if (t === '\r') this.col = 0;
      else if (t === '\x1b7') this.saved = [this.row, this.col];
      else if (t === '\x1b8') [this.row, this.col] = this.saved;
      else if (t.startsWith('\x1b[')) this.csi(t.slice(2, -1), t[t.length - 1]);
      else {
        const line = this.line();
        while (line.length < this.col) line.push(' ');
        line[this.col++] = t;
      }
    }
  }

  private csi(params: string, final: string): void {
    const n = (i: number, dflt: number) => Number(params.split(';')[i] || dflt);
    const line = this.line();
    switch (final) {
      case 'A':
        this.row = Math.max(0, this.row - n(0, 1));
        break;
      case 'B':
        this.row += n(0, 1);
        break;
      case 'C':
        this.col += n(0, 1);
        break;
      case 'D':
        this.col = Math.max(0, this.col - n(0, 1));
        break;
      case 'G':
        this.col = n(0, 1) - 1;
        break;
      case 'H':
        this.row = n(0, 1) - 1;
        this.col = n(1, 1) - 1;
        break;
      case 'K': {
        const mode = n(0, 0);
        if (mode === 0) line.length = Math.min(line.length, this.col);
        else if (mode === 1) for (let i = 0; i <= this.col && i < line.length; i++) line[i] = ' ';
        else line.length = 0;
        break;
      }
      case 'J':
        line.length = Math.min(line.length, this.col);
        this.rows.length = this.row + 1;
        break;
      default: // styles (m), cursor visibility and line wrapping (h, l): nothing on the grid
    }
  }
}
