import { type Clock, systemClock } from '../core/index.ts';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** The rate shown is over this much recent time: batches land every half second, a shorter window jitters. */
const RATE_WINDOW_MS = 5000;

/**
 * Prints a progress line while a run goes on: rewritten in place on a terminal, one line every few seconds
 * when stderr is a file or a pipe (CI logs stay readable).
 */
export class ProgressPrinter {
  private timer: NodeJS.Timeout | undefined;
  private samples: Array<{ at: number; count: number }> = [];
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly render: (ratePerSecond: number) => string,
    private readonly count: () => number,
    private readonly clock: Clock = systemClock,
  ) {}

  start(): void {
    this.samples = [{ at: this.clock(), count: this.count() }];
    this.timer = setInterval(() => this.print(), this.stream.isTTY ? 250 : 5000);
    this.timer.unref();
  }

  /** Records per second over the recent window. */
  rate(): number {
    const now = this.clock();
    this.samples.push({ at: now, count: this.count() });
    while (this.samples.length > 2 && now - this.samples[0]!.at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    return last.at > first.at ? ((last.count - first.count) * 1000) / (last.at - first.at) : 0;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.stream.isTTY && this.drawn) this.stream.write('\r\x1b[2K');
  }

  private print(): void {
    const line = this.render(this.rate());
    this.drawn = true;
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
