// The deterministic scheduler's clock: each decision advances it by one tick, and scripted
// delays and hogs by their length; kernel work itself takes no time there. Its own module so the
// reports that explain the clock need not load the runtime.
export const TICK_NS = 100;

/** What a time on this clock is, for the notes under tables and timelines. */
export const schedulerClock = (tickNs: number = TICK_NS): string =>
  `the scheduler's clock (${tickNs} ns a decision plus the scenario's delays and hogs), not what the kernel work costs`;
