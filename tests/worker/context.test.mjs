// Cold flag and shared request context, in a fresh module instance per test file (node --test
// runs each file in its own process, so this isolate starts cold).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { takeColdFlag } from './worker/timing.js';
import * as contextA from './worker/request-context.js';
import * as contextB from './worker/request-context.js?second-import-path-is-a-different-module';
import * as viaSameUrl from './worker/request-context.js';

test('the first takeColdFlag() in an isolate is cold, every later one warm', async () => {
  const first = takeColdFlag();
  assert.equal(first.cold, true);
  assert.ok(first.isolateAgeMs >= 0);
  await new Promise((resolve) => setTimeout(resolve, 15));
  const second = takeColdFlag();
  assert.equal(second.cold, false);
  assert.ok(second.isolateAgeMs >= first.isolateAgeMs + 10, 'age grows with the isolate');
  for (let i = 0; i < 5; i += 1) assert.equal(takeColdFlag().cold, false);
});

test('request-context state is shared by every importer of the same module', () => {
  contextA.setLastCold({ cold: true, isolateAgeMs: 12 });
  assert.deepEqual(viaSameUrl.getLastCold(), { cold: true, isolateAgeMs: 12 });
  // A module loaded under another URL is another instance: state is per module instance.
  assert.equal(contextB.getLastCold(), undefined);
  contextA.setLastCold({ cold: false, isolateAgeMs: 40 });
  assert.deepEqual(viaSameUrl.getLastCold(), { cold: false, isolateAgeMs: 40 });
});

test('getLastCold returns a copy; setLastCold keeps the shape it was given and clears', () => {
  contextA.setLastCold({ cold: true, isolateAgeMs: 7 });
  const got = contextA.getLastCold();
  assert.deepEqual(got, { cold: true, isolateAgeMs: 7 });
  got.cold = false;
  assert.equal(contextA.getLastCold().cold, true, 'callers cannot mutate the shared flag');
  contextA.setLastCold(undefined);
  assert.equal(contextA.getLastCold(), undefined);
  contextA.setLastCold(null);
  assert.equal(contextA.getLastCold(), undefined);
});

test('a boolean, the shape the seed names, is read as that boolean (never turned into warm)', () => {
  contextA.setLastCold(true);
  assert.deepEqual(contextA.getLastCold(), { cold: true });
  contextA.setLastCold(false);
  assert.deepEqual(contextA.getLastCold(), { cold: false });
  // takeColdFlag()'s own object still works, and passing .cold gives the same answer.
  const flag = { cold: true, isolateAgeMs: 0 };
  contextA.setLastCold(flag.cold);
  assert.equal(contextA.getLastCold().cold, true);
  contextA.setLastCold(undefined);
});

for (const [label, wrong] of [
  ['the string "true"', 'true'],
  ['the string "false"', 'false'],
  ['the number 1', 1],
  ['the number 0', 0],
  ['an object without cold', { isCold: true }],
  ['an object with cold as a string', { cold: 'yes' }],
  ['an object with cold as a number', { cold: 1 }],
  ['an array', [true]],
]) {
  test(`setLastCold(${label}) throws a TypeError and leaves the last flag as it was`, () => {
    contextA.setLastCold({ cold: true, isolateAgeMs: 5 });
    assert.throws(() => contextA.setLastCold(wrong), TypeError);
    assert.deepEqual(contextA.getLastCold(), { cold: true, isolateAgeMs: 5 });
    contextA.setLastCold(undefined);
  });
}
