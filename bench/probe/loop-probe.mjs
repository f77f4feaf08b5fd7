// Preloaded (`node --import`) into every server the bench starts, Switchboard and baselines alike, so
// both are measured by the same code: event-loop delay (perf_hooks, 10 ms resolution) and memory.
// Speaks only over the IPC channel the bench opens; without one it does nothing. Plain JavaScript so
// it loads before any TypeScript loader.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 10;

if (typeof process.send === 'function') {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
  const lagMs = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on('message', (message) => {
    if (!message || typeof message !== 'object' || typeof message.probe !== 'string') return;
    if (message.probe === 'reset') {
      histogram.reset();
      process.send({ probe: 'reset', ok: true });
    } else if (message.probe === 'stats') {
      if (message.gc === true && typeof globalThis.gc === 'function') globalThis.gc();
      const memory = process.memoryUsage();
      process.send({
        probe: 'stats',
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        loop: {
          count: histogram.count,
          p50Ms: lagMs(histogram.percentile(50)),
          p99Ms: lagMs(histogram.percentile(99)),
          maxMs: lagMs(histogram.max),
        },
      });
    }
  });
  // The channel must not keep a server alive that would otherwise exit.
  process.channel?.unref();
}
