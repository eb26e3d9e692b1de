// request-context.js — shipped by `cutover worker-src`; no dependencies.
//
// Shared, module-scoped state so the cold/warm flag taken at the top of `fetch()` reaches the
// command dispatcher (bot.use() middleware) without the bot module importing the Worker entry
// (which would be a circular import).
//
// Caveat: one isolate may serve several requests concurrently; this holds the flag of the
// request that most recently called setLastCold(). Only the first request of an isolate is
// cold, so a concurrent warm request can at worst make that one cold command read as warm.

/**
 * @typedef {object} ColdFlag
 * @property {boolean} cold           true for the first request this isolate handles
 * @property {number} [isolateAgeMs]  milliseconds since the isolate loaded this module
 */

/** @type {ColdFlag | undefined} */
let lastCold;

/**
 * Remember the cold flag of the request being handled (call at the top of fetch()).
 * Takes takeColdFlag()'s object or a plain boolean (`setLastCold(true)`); undefined/null
 * clears it. Any other shape throws a TypeError: read silently as warm, a wrong shape would
 * leave the soak gate with no cold samples to judge.
 * @param {ColdFlag | boolean | undefined | null} flag
 * @returns {void}
 */
export function setLastCold(flag) {
  if (flag === undefined || flag === null) {
    lastCold = undefined;
    return;
  }
  if (typeof flag === 'boolean') {
    lastCold = { cold: flag };
    return;
  }
  if (typeof flag !== 'object' || Array.isArray(flag) || typeof flag.cold !== 'boolean') {
    throw new TypeError(
      'setLastCold(flag): flag must be takeColdFlag()\'s object ({ cold: boolean, isolateAgeMs }) or a boolean, '
      + `got ${Array.isArray(flag) ? 'an array' : typeof flag === 'object' ? 'an object without a boolean cold' : typeof flag}`,
    );
  }
  const age = flag.isolateAgeMs;
  lastCold = typeof age === 'number' && Number.isFinite(age) && age >= 0
    ? { cold: flag.cold, isolateAgeMs: age }
    : { cold: flag.cold };
}

/**
 * The cold flag set by the most recent setLastCold() (a copy), or undefined when none was set.
 * @returns {ColdFlag | undefined}
 */
export function getLastCold() {
  return lastCold ? Object.assign({}, lastCold) : undefined;
}
