// fetch-entry.example.js — how the top of the Worker's fetch() is wired (shipped by
// `cutover worker-src`). Copy the marked lines into your entry module; the rest is context.
//
// Order matters: take the cold flag first, before any await, so the first request of an
// isolate is the one marked cold; then log the request event and prime the shared context
// that the bot.use() middleware (bot-middleware.example.js) reads.

import { takeColdFlag } from './timing.js';
import { setLastCold } from './request-context.js';
import { handleTelegramUpdate } from './bot.js'; // your grammY webhook handler

export default {
  /**
   * @param {Request} request
   * @param {Record<string, unknown>} env
   * @param {{ waitUntil(p: Promise<unknown>): void }} ctx
   * @returns {Promise<Response>}
   */
  async fetch(request, env, ctx) {
    // --- cutover timing: begin ---------------------------------------------------------
    const coldFlag = takeColdFlag(); // exactly once per request
    setLastCold(coldFlag);
    console.log(JSON.stringify({ event: 'request', cold: coldFlag.cold, isolateAgeMs: coldFlag.isolateAgeMs }));
    // --- cutover timing: end -----------------------------------------------------------
    return handleTelegramUpdate(request, env, ctx);
  },
};
