// timing.js — shipped by `cutover worker-src`; ES module, no dependencies.
//
// Emits the `cmd_timing` event that `cutover analyze-soak` reads, one console.log per handled
// command, as a JSON string:
//   {"event":"cmd_timing","cmd":"/start","durationMs":123.456,"cold":true,"isolateAgeMs":17,
//    "marks":{"mongo_connect":80.1}}
//
// In deployed Workers, performance.now() and Date.now() only advance across I/O (a Spectre
// mitigation), so durations measure awaited I/O (Mongo, KV, fetch) — exactly what the soak
// compares — and CPU-only stretches read as 0. Locally (wrangler dev) timers advance freely.

import { getLastCold } from './request-context.js';

/**
 * @typedef {import('./request-context.js').ColdFlag} ColdFlag
 */

/**
 * @typedef {object} CmdTiming
 * @property {'cmd_timing'} event
 * @property {string} cmd                   e.g. "/start"
 * @property {number} durationMs            start → end(), milliseconds, 3 decimals
 * @property {boolean} [cold]               absent when no cold flag is known
 * @property {number} [isolateAgeMs]
 * @property {Record<string, number>} marks name → ms since start, 3 decimals
 */

/**
 * @typedef {object} TimingOptions
 * @property {boolean} [cold]            overrides the flag from request-context.js
 * @property {number} [isolateAgeMs]
 * @property {(line: string) => void} [log]  where the event goes (default console.log)
 * @property {() => number} [now]        clock in ms (default performance.now, else Date.now)
 */

/**
 * @typedef {object} Timer
 * @property {(name: string) => number | undefined} mark  record ms since start under `name`
 * @property {(extra?: Record<string, unknown>) => CmdTiming | undefined} end
 *   log the event once and return it; later calls return undefined and log nothing
 * @property {boolean} ended
 */

/** @returns {number} */
function defaultNow() {
  return typeof performance !== 'undefined' && typeof performance.now === 'function'
    ? performance.now()
    : Date.now();
}

/** @param {unknown} line */
function defaultLog(line) {
  console.log(line);
}

// Workers timers only advance across I/O, and while the global scope is evaluated the clock
// may read 0 (the Unix epoch); then the isolate's age is counted from its first request.
const EPOCH_FROZEN_BELOW = 1e12; // any real Date.now() today is above this (2001-09-09)
const moduleLoadedAt = Date.now();
/** @type {number | undefined} */
let isolateStartedAt = moduleLoadedAt >= EPOCH_FROZEN_BELOW ? moduleLoadedAt : undefined;
let coldFlagTaken = false;

/** @param {number} ms */
function round3(ms) {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Cold/warm flag of the request being handled: the first call in an isolate is cold, every
 * later call is warm. Deliberately not an isolate-age threshold (a Mongo cold connect alone
 * takes ~1.5 s, so "young" does not mean "cold"). Call it exactly once per request.
 * @returns {ColdFlag}
 */
export function takeColdFlag() {
  const now = Date.now();
  if (isolateStartedAt === undefined) isolateStartedAt = now;
  const cold = !coldFlagTaken;
  coldFlagTaken = true;
  return { cold, isolateAgeMs: Math.max(0, now - isolateStartedAt) };
}

/**
 * Start timing one command. The cold flag comes from `options`, else from the last
 * setLastCold() (request-context.js), else it is left out (analyze-soak counts it as unknown).
 * @param {string} cmd
 * @param {TimingOptions} [options]
 * @returns {Timer}
 */
export function startTiming(cmd, options = {}) {
  const now = options.now || defaultNow;
  const log = options.log || defaultLog;
  const context = getLastCold();
  /** @type {boolean | undefined} */
  const cold = typeof options.cold === 'boolean' ? options.cold : context && context.cold;
  /** @type {number | undefined} */
  const isolateAgeMs = typeof options.isolateAgeMs === 'number'
    ? options.isolateAgeMs
    : context && typeof options.cold !== 'boolean' ? context.isolateAgeMs : undefined;
  const startedAt = now();
  /** @type {Record<string, number>} */
  const marks = {};
  const timer = {
    ended: false,
    /** @param {string} name */
    mark(name) {
      if (timer.ended) return undefined;
      const at = round3(now() - startedAt);
      marks[String(name)] = at; // a repeated name keeps its latest time
      return at;
    },
    /** @param {Record<string, unknown>} [extra] extra keys (e.g. ok, error); cannot replace core keys */
    end(extra) {
      if (timer.ended) return undefined;
      timer.ended = true;
      const durationMs = round3(now() - startedAt);
      const extraCold = extra && typeof extra.cold === 'boolean' ? extra.cold : undefined;
      const finalCold = extraCold !== undefined ? extraCold : cold;
      const finalAge = extra && typeof extra.isolateAgeMs === 'number' ? extra.isolateAgeMs : isolateAgeMs;
      /** @type {CmdTiming} */
      const record = { event: 'cmd_timing', cmd: String(cmd), durationMs };
      if (finalCold !== undefined) record.cold = finalCold;
      if (finalAge !== undefined) record.isolateAgeMs = finalAge;
      record.marks = Object.assign({}, marks);
      for (const [key, value] of Object.entries(extra || {})) {
        if (!(key in record)) record[key] = value;
      }
      log(JSON.stringify(record));
      return record;
    },
  };
  return timer;
}

/**
 * The command name of a Telegram update: "/start" for "/start@MyBot arg", else the update
 * kind ("callback_query", "message", ...), or null when there is nothing to name.
 * @param {any} ctx  grammY/Telegraf context (uses ctx.update) or a bare Update
 * @returns {string | null}
 */
export function commandOf(ctx) {
  const update = ctx && ctx.update ? ctx.update : ctx;
  if (!update || typeof update !== 'object') return null;
  const message = update.message || update.edited_message || update.channel_post;
  const text = message && typeof message.text === 'string' ? message.text : '';
  const match = /^\/([A-Za-z0-9_]+)(?:@[A-Za-z0-9_]+)?(?:\s|$)/.exec(text);
  if (match) return '/' + match[1];
  const kind = Object.keys(update).find((key) => key !== 'update_id');
  return kind || null;
}

/**
 * @typedef {object} MiddlewareOptions
 * @property {(ctx: any) => string | null} [commandOf]  name the command; null = do not time
 * @property {string} [property]  ctx property that carries the timer (default "timing"), so
 *   handlers can call ctx.timing.mark("mongo_connect")
 * @property {(line: string) => void} [log]
 * @property {() => number} [now]
 */

/**
 * grammY-style middleware `(ctx, next)` that times everything downstream of it: register it
 * first with bot.use(); handlers stay the functions you registered. A handler's error is
 * logged in the event (ok:false) and rethrown unchanged.
 * @param {MiddlewareOptions} [options]
 * @returns {(ctx: any, next: () => Promise<unknown>) => Promise<void>}
 */
export function commandTiming(options = {}) {
  const nameOf = options.commandOf || commandOf;
  const property = options.property || 'timing';
  return async function commandTimingMiddleware(ctx, next) {
    const cmd = nameOf(ctx);
    if (cmd === null || cmd === undefined) {
      await next();
      return;
    }
    const timer = startTiming(cmd, { log: options.log, now: options.now });
    if (ctx && typeof ctx === 'object') ctx[property] = timer;
    try {
      await next();
    } catch (err) {
      // ok:false only: the error's name (e.g. MongoNetworkError) stays out of this event so the
      // soak's text rule counts the bot's own error log once, not this line a second time.
      timer.end({ ok: false });
      throw err;
    }
    timer.end();
  };
}
