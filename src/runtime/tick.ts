// The deterministic scheduler's clock: each decision advances it by one tick, and scripted
// delays and hogs by their length; kernel work itself takes no time there. Its own module so the
// reports that explain the clock need not load the runtime.
export const TICK_NS = 100;
