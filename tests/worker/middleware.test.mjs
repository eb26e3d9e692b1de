// The grammY-style bot.use() middleware: times async handlers, keeps handler identity, and
// rethrows a handler's error after logging it. `compose` is a minimal grammY-like chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { commandTiming } from './worker/timing.js';
import { setLastCold } from './worker/request-context.js';

/** Run middlewares in order, grammY style: each gets (ctx, next). */
function compose(middlewares) {
  return (ctx) => {
    const dispatch = (i) => (i < middlewares.length ? middlewares[i](ctx, () => dispatch(i + 1)) : Promise.resolve());
    return Promise.resolve(dispatch(0));
  };
}

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const update = (text) => ({ update: { update_id: 7, message: { message_id: 1, text } } });

test('times an async handler across its awaits, with marks from ctx.timing', async () => {
  const clock = fakeClock();
  const lines = [];
  setLastCold({ cold: true, isolateAgeMs: 4 });
  const handler = async (ctx) => {
    await Promise.resolve();
    clock.advance(80);
    ctx.timing.mark('mongo_connect');
    await new Promise((resolve) => setTimeout(resolve, 1));
    clock.advance(20);
  };
  await compose([commandTiming({ now: clock.now, log: (l) => lines.push(l) }), handler])(update('/start'));
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), {
    event: 'cmd_timing', cmd: '/start', durationMs: 100, cold: true, isolateAgeMs: 4, marks: { mongo_connect: 80 },
  });
  setLastCold(undefined);
});

test('handler identity is intact: the registered function is the one called, with the same ctx', async () => {
  const lines = [];
  const seen = [];
  async function start(ctx) { seen.push([start, ctx]); }
  const ctx = update('/start');
  const middleware = commandTiming({ log: (l) => lines.push(l) });
  await compose([middleware, start])(ctx);
  assert.equal(seen.length, 1);
  assert.equal(seen[0][0], start);
  assert.equal(seen[0][1], ctx);
  assert.equal(start.name, 'start');
  assert.equal(lines.length, 1);
});

test("a handler's error is logged (ok:false) and rethrown unchanged", async () => {
  const clock = fakeClock();
  const lines = [];
  setLastCold({ cold: false, isolateAgeMs: 1000 });
  class MongoServerSelectionError extends Error {
    constructor() { super('no primary'); this.name = 'MongoServerSelectionError'; }
  }
  const thrown = new MongoServerSelectionError();
  const handler = async () => { clock.advance(1500); throw thrown; };
  await assert.rejects(
    compose([commandTiming({ now: clock.now, log: (l) => lines.push(l) }), handler])(update('/buy 1')),
    (err) => err === thrown,
  );
  assert.equal(lines.length, 1, 'logged before the rethrow, exactly once');
  const record = JSON.parse(lines[0]);
  assert.equal(record.cmd, '/buy');
  assert.equal(record.durationMs, 1500);
  assert.equal(record.cold, false);
  assert.equal(record.ok, false);
  assert.equal(JSON.stringify(record).includes('Mongo'), false, 'the bot logs the error itself; no double count');
  assert.deepEqual(Object.keys(record), ['event', 'cmd', 'durationMs', 'cold', 'isolateAgeMs', 'marks', 'ok']);
  setLastCold(undefined);
});

test('a custom commandOf can skip updates (not timed, handler still runs)', async () => {
  const lines = [];
  let ran = 0;
  const middleware = commandTiming({ log: (l) => lines.push(l), commandOf: () => null });
  await compose([middleware, async () => { ran += 1; }])(update('/start'));
  assert.equal(ran, 1);
  assert.equal(lines.length, 0);
});

test('one event per update when many updates run concurrently', async () => {
  const lines = [];
  const middleware = commandTiming({ log: (l) => lines.push(l) });
  const handler = async () => { await new Promise((resolve) => setTimeout(resolve, 2)); };
  const run = compose([middleware, handler]);
  await Promise.all(Array.from({ length: 20 }, (_, i) => run(update(`/c${i % 3}`))));
  assert.equal(lines.length, 20);
  const counts = {};
  for (const line of lines) { const c = JSON.parse(line).cmd; counts[c] = (counts[c] || 0) + 1; }
  assert.deepEqual(counts, { '/c0': 7, '/c1': 7, '/c2': 6 });
});
