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

test('getLastCold returns a copy; setLastCold normalises and clears', () => {
  contextA.setLastCold({ cold: 1, isolateAgeMs: '7' });
  const got = contextA.getLastCold();
  assert.deepEqual(got, { cold: true, isolateAgeMs: 7 });
  got.cold = false;
  assert.equal(contextA.getLastCold().cold, true, 'callers cannot mutate the shared flag');
  contextA.setLastCold(undefined);
  assert.equal(contextA.getLastCold(), undefined);
});
