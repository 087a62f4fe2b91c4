/**
 * director_max_parallel_kicks: at most `limit` admin kicks in flight. Beyond it a kick waits for a
 * slot, in arrival order, or (nowait) is refused at once, as Dovecot answers TRYAGAIN.
 */
export class KickSlots {
  private readonly limit: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  get busy(): boolean {
    return this.inFlight >= this.limit;
  }

  /** Runs `kick` in a slot; undefined (not run) when `nowait` and every slot is taken. */
  async run<T>(nowait: boolean, kick: () => Promise<T>): Promise<T | undefined> {
    if (this.busy) {
      if (nowait) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.inFlight++;
    }
    try {
      return await kick();
    } finally {
      const next = this.waiting.shift();
      // the slot passes straight to the next waiter, so a newcomer cannot overtake it
      if (next) next();
      else this.inFlight--;
    }
  }
}
