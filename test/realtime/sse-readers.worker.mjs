// Healthy SSE readers on their own thread, like dashboards on other machines: they must not compete
// with the in-process server for its event loop, or a "healthy" reader becomes a slow one.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { SseClient } = await import('../support/sse-client.ts');

const { url, cookie, readers } = workerData;
const now = () => performance.timeOrigin + performance.now();
const states = [];
for (let i = 0; i < readers; i++) {
  const state = { ids: [], arrivals: [], frames: 0, client: null };
  state.client = await SseClient.open(url, {
    cookie,
    keepFrames: false,
    onFrame: (f) => {
      state.frames++;
      if (f.id === null || f.event === null) return;
      state.ids.push(Number(f.id));
      if (f.event === 'new_message') state.arrivals.push([/"message_id":"([^"]+)"/.exec(f.data)[1], now()]);
    },
  });
  if (state.client.status !== 200) throw new Error(`reader ${i}: status ${state.client.status}`);
  await state.client.waitFor(() => state.frames > 0, 10_000, 'the retry frame');
  states.push(state);
}
parentPort.postMessage({ type: 'ready' });

parentPort.on('message', async (msg) => {
  if (msg.type !== 'collect') return;
  const waits = states.map((s) =>
    s.client
      .waitFor(() => s.ids.length >= msg.count, msg.timeoutMs, `${msg.count} events`)
      .then(
        () => null,
        (err) => err.message,
      ),
  );
  const errors = await Promise.all(waits);
  parentPort.postMessage({
    type: 'result',
    errors,
    readers: states.map((s) => ({ ids: s.ids, arrivals: s.arrivals, ended: s.client.isEnded })),
  });
});
