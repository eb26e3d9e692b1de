// node --test suite for the shipped timing.js / request-context.js (run by test_node_suites.py
// against the files `cutover worker-src export` wrote, so the exported bytes are what is tested).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startTiming, commandOf, commandTiming } from './worker/timing.js';
import { setLastCold } from './worker/request-context.js';

/** A hand-driven clock: tests decide how much time passes. */
function fakeClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

function capture() {
  const lines = [];
  return { lines, log: (line) => lines.push(line) };
}

test('end() logs exactly one cmd_timing event with the contract shape', () => {
  const clock = fakeClock();
  const out = capture();
  const timer = startTiming('/start', { cold: true, isolateAgeMs: 17, now: clock.now, log: out.log });
  clock.advance(123.4564);
  const record = timer.end();
  assert.equal(out.lines.length, 1);
  assert.equal(typeof out.lines[0], 'string', 'logged as a JSON string so wrangler/console keep it parseable');
  const logged = JSON.parse(out.lines[0]);
  assert.deepEqual(logged, {
    event: 'cmd_timing', cmd: '/start', durationMs: 123.456, cold: true, isolateAgeMs: 17, marks: {},
  });
  assert.deepEqual(record, logged);
});

test('marks are milliseconds since start, rounded to 3 decimals', () => {
  const clock = fakeClock(50);
  const out = capture();
  const timer = startTiming('/ping', { cold: false, now: clock.now, log: out.log });
  clock.advance(80.1);
  assert.equal(timer.mark('mongo_connect'), 80.1);
  clock.advance(19.9004);
  timer.mark('mongo_query');
  clock.advance(5);
  const record = timer.end();
  assert.deepEqual(record.marks, { mongo_connect: 80.1, mongo_query: 100 });
  assert.equal(record.durationMs, 105);
});

test('a second end() is a no-op: nothing logged, undefined returned, marks frozen', () => {
  const clock = fakeClock();
  const out = capture();
  const timer = startTiming('/x', { cold: false, now: clock.now, log: out.log });
  clock.advance(10);
  const first = timer.end();
  clock.advance(10);
  assert.equal(timer.end(), undefined);
  assert.equal(timer.end({ ok: false }), undefined);
  assert.equal(timer.mark('late'), undefined);
  assert.equal(out.lines.length, 1);
  assert.equal(first.durationMs, 10);
  assert.deepEqual(first.marks, {});
  assert.equal(timer.ended, true);
});

test('end(extra) adds keys but cannot replace event, cmd, durationMs or marks', () => {
  const clock = fakeClock();
  const out = capture();
  const timer = startTiming('/buy', { cold: false, isolateAgeMs: 5, now: clock.now, log: out.log });
  clock.advance(2);
  const record = timer.end({ ok: true, event: 'nope', cmd: '/other', durationMs: -1, marks: { a: 1 } });
  assert.equal(record.event, 'cmd_timing');
  assert.equal(record.cmd, '/buy');
  assert.equal(record.durationMs, 2);
  assert.deepEqual(record.marks, {});
  assert.equal(record.ok, true);
});

test('cold flag comes from request-context when not given; absent when unknown', () => {
  const out = capture();
  setLastCold(undefined);
  const unknown = startTiming('/a', { log: out.log }).end();
  assert.equal('cold' in unknown, false, 'no cold key: analyze-soak counts it as cold_unknown');
  assert.equal('isolateAgeMs' in unknown, false);

  setLastCold({ cold: true, isolateAgeMs: 3 });
  const cold = startTiming('/b', { log: out.log }).end();
  assert.equal(cold.cold, true);
  assert.equal(cold.isolateAgeMs, 3);

  setLastCold({ cold: false, isolateAgeMs: 900 });
  const warm = startTiming('/c', { log: out.log }).end();
  assert.equal(warm.cold, false);
  assert.equal(warm.isolateAgeMs, 900);

  setLastCold(true);
  const fromBoolean = startTiming('/b2', { log: out.log }).end();
  assert.equal(fromBoolean.cold, true, 'setLastCold(true) is cold, not warm');
  assert.equal('isolateAgeMs' in fromBoolean, false, 'no age was given, none is made up');

  const explicit = startTiming('/d', { cold: true, log: out.log }).end();
  assert.equal(explicit.cold, true, 'an explicit option wins over the shared context');
  assert.equal('isolateAgeMs' in explicit, false, 'the age of another request is not mixed in');
  setLastCold(undefined);
});

test('the default clock is real and non-negative', async () => {
  const out = capture();
  const timer = startTiming('/real', { cold: false, log: out.log });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const record = timer.end();
  assert.ok(record.durationMs >= 0);
  assert.ok(Number.isFinite(record.durationMs));
});

test('commandOf names commands and update kinds', () => {
  const msg = (text) => ({ update: { update_id: 1, message: { message_id: 1, text } } });
  assert.equal(commandOf(msg('/start')), '/start');
  assert.equal(commandOf(msg('/start@MyBot payload')), '/start');
  assert.equal(commandOf(msg('/buy_now 3')), '/buy_now');
  assert.equal(commandOf(msg('hello')), 'message');
  assert.equal(commandOf(msg('not /start')), 'message');
  assert.equal(commandOf({ update: { update_id: 2, callback_query: { id: 'q', data: 'x' } } }), 'callback_query');
  assert.equal(commandOf({ update_id: 3, message: { text: '/help' } }), '/help', 'a bare Update works too');
  assert.equal(commandOf({ update: { update_id: 4 } }), null);
  assert.equal(commandOf(null), null);
});
