import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/** Where text lines go: stderr, one whole line per call. */
export interface LineWriter {
  write(text: string): void;
  readonly isTTY: boolean;
}

/**
 * The process's stderr shared by the log and the progress bars. On a TTY the bars are drawn at
 * the bottom and every log line is printed above them (cli-progress's MultiBar log buffer, flushed
 * on each redraw), so a line never lands inside a half-drawn bar.
 */
export class Terminal {
  private bars: MultiBar | undefined;
  private active = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    readonly isTTY: boolean = Boolean(stream.isTTY),
  ) {}

  /** Whether progress bars are on screen. */
  get drawing(): boolean {
    return this.bars !== undefined;
  }

  /** Prints `text` (ending in a newline) above the bars while any is drawn, else straight away. */
  write(text: string): void {
    if (this.bars) this.bars.log(text);
    else this.stream.write(text);
  }

  /** Starts a bar; the returned `stop` keeps it on screen in its final state. */
  startBar(format: string, total: number, payload: object): { bar: SingleBar; stop: () => void } {
    // forceRedraw: a flushed log line clears the bar's row, so an unchanged bar must be drawn again.
    this.bars ??= new MultiBar(
      {
        stream: this.stream,
        hideCursor: true,
        etaBuffer: 50,
        format,
        gracefulExit: false,
        forceRedraw: true,
      },
      Presets.shades_classic,
    );
    const bars = this.bars;
    const bar = bars.create(total, 0, payload, { format });
    this.active++;
    let stopped = false;
    return {
      bar,
      stop: () => {
        if (stopped) return;
        stopped = true;
        bar.stop();
        if (--this.active > 0) return;
        bars.update(); // flush lines logged since the last redraw, then the final bars
        bars.stop();
        this.bars = undefined;
      },
    };
  }
}

/** The one terminal of this process. */
export const terminal = new Terminal();
