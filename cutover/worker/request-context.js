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
 * @property {boolean} cold          true for the first request this isolate handles
 * @property {number} isolateAgeMs   milliseconds since the isolate loaded this module
 */

/** @type {ColdFlag | undefined} */
let lastCold;

/**
 * Remember the cold flag of the request being handled (call at the top of fetch()).
 * @param {ColdFlag | undefined} flag
 * @returns {void}
 */
export function setLastCold(flag) {
  lastCold = flag ? { cold: Boolean(flag.cold), isolateAgeMs: Number(flag.isolateAgeMs) || 0 } : undefined;
}

/**
 * The cold flag set by the most recent setLastCold(), or undefined when none was set.
 * @returns {ColdFlag | undefined}
 */
export function getLastCold() {
  return lastCold ? { cold: lastCold.cold, isolateAgeMs: lastCold.isolateAgeMs } : undefined;
}
