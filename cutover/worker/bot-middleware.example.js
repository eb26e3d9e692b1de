// bot-middleware.example.js — timing every command with one grammY bot.use() middleware
// (shipped by `cutover worker-src`). Copy the marked lines into the module that builds the bot.
//
// The middleware is registered first, so it wraps every handler registered after it; the
// handlers themselves are not wrapped or replaced (bot.command('start', start) keeps `start`).
// Each handled update logs one cmd_timing event; a handler's error is logged (ok:false)
// and rethrown, so grammY's own error handling still sees it.

import { Bot, webhookCallback } from 'grammy'; // your bot framework
import { commandTiming } from './timing.js';

/**
 * @param {Record<string, string>} env
 * @returns {Bot}
 */
export function buildBot(env) {
  const bot = new Bot(env.BOT_TOKEN);
  // --- cutover timing: begin ---------------------------------------------------------
  bot.use(commandTiming()); // cold flag comes from setLastCold() in fetch()
  // --- cutover timing: end -----------------------------------------------------------

  bot.command('start', async (ctx) => {
    const db = await connectMongo(env); // your code
    ctx.timing.mark('mongo_connect'); // optional: ms since the command started
    await ctx.reply(await greeting(db, ctx.from));
  });
  return bot;
}

/**
 * The handler fetch-entry.example.js calls.
 * @param {Request} request
 * @param {Record<string, string>} env
 * @returns {Promise<Response>}
 */
export function handleTelegramUpdate(request, env) {
  return webhookCallback(buildBot(env), 'cloudflare-mod', { secretToken: env.TELEGRAM_WEBHOOK_SECRET })(request);
}

// Placeholders for your own code, so this file reads top to bottom.
/** @param {Record<string, string>} env */
async function connectMongo(env) { return env; }
/** @param {unknown} db @param {unknown} from */
async function greeting(db, from) { return 'hello'; }
