/**
 * The one backoff policy for every retry in the project (a silent lock board, the back-office
 * link): exponential growth from `initialMs` to `maxMs`, with optional "full jitter" (a delay
 * drawn uniformly from [0, ceiling]) so that many units do not reconnect in lockstep.
 */
export interface BackoffOptions {
  /** First ceiling, in ms. */
  initialMs: number;
  /** Largest ceiling, in ms. */
  maxMs: number;
  /** Growth factor per failure; default 2. */
  factor?: number;
  /** 'full': uniform in [0, ceiling]; 'none': exactly the ceiling. Default 'none'. */
  jitter?: 'full' | 'none';
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

export class Backoff {
  #failures = 0;
  readonly #options: Required<BackoffOptions>;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${options.initialMs}..${options.maxMs}`);
    }
    this.#options = { factor: 2, jitter: 'none', random: Math.random, ...options };
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** The ceiling the next delay is drawn under, without counting a failure. */
  get ceilingMs(): number {
    const { initialMs, maxMs, factor } = this.#options;
    return Math.min(maxMs, initialMs * factor ** this.#failures);
  }

  /** Count one failure and return how long to wait before the next attempt. */
  next(): number {
    const ceiling = this.ceilingMs;
    this.#failures += 1;
    if (this.#options.jitter === 'full') return Math.floor(this.#options.random() * ceiling);
    return ceiling;
  }

  /** Forget the failures after a success. */
  reset(): void {
    this.#failures = 0;
  }
}
