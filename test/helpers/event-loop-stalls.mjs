/**
 * Chaos for timing review, never loaded by the suite: busy-waits the event loop of every node
 * process it is loaded into (the test, and the lockers and back offices it starts) for up to
 * STALL_MAX_MS (default 300) at random moments, at most STALL_EVERY_MS (default 700) apart. A
 * test whose verdict depends on a timer firing before an event shows up here in a few runs, where
 * a busy CI machine shows it once in weeks (it found the jammed lock's second pulse, and the back
 * office's 100 ms pinger closing a connection before its pong was read):
 *
 *   STALL_MAX_MS=1200 STALL_EVERY_MS=1500 NODE_OPTIONS="--import $PWD/test/helpers/event-loop-stalls.mjs" npx tap test/integration/x.test.ts
 *
 * It stalls a process's JavaScript only, not its I/O threads nor other programs (Chromium,
 * python3): real load slows those too, so a test green here may still depend on their speed.
 */
const every = Number(process.env.STALL_EVERY_MS ?? 700);
const max = Number(process.env.STALL_MAX_MS ?? 300);

function stall() {
  const end = performance.now() + Math.random() * max;
  while (performance.now() < end);
  setTimeout(stall, Math.random() * every).unref();
}
setTimeout(stall, Math.random() * every).unref();
