// A tiny Telegram-webhook Worker for tests: wired exactly as the shipped examples say
// (fetch-entry.example.js, bot-middleware.example.js), with a minimal grammY-like dispatcher
// instead of grammY so it runs offline. tests/support/workerd.py copies it next to the modules
// exported by `cutover worker-src export` (./cutover/).
import { takeColdFlag, commandTiming } from './cutover/timing.js';
import { setLastCold } from './cutover/request-context.js';

/** grammY-style chain: each middleware gets (ctx, next). */
function compose(middlewares) {
  return (ctx) => {
    const dispatch = (i) => (i < middlewares.length ? middlewares[i](ctx, () => dispatch(i + 1)) : Promise.resolve());
    return Promise.resolve(dispatch(0));
  };
}

/** Handlers by command; each does a little real async work so timers move. */
const handlers = {
  '/ping': async (ctx) => {
    await scheduler.wait(2);
    ctx.timing.mark('pong');
  },
  '/fail': async () => {
    const err = new Error('simulated');
    err.name = 'MongoNetworkError';
    throw err;
  },
};

async function route(ctx) {
  const text = (ctx.update.message && ctx.update.message.text) || '';
  const handler = handlers[text.split(/[\s@]/)[0]];
  if (handler) await handler(ctx);
}

const bot = compose([commandTiming(), route]);

export default {
  async fetch(request, env) {
    const coldFlag = takeColdFlag();
    // Tests pick the shape handed to setLastCold(): takeColdFlag()'s object (the default, as
    // the examples wire it), the bare boolean the seed names, or a wrong one (a string).
    const shape = request.headers.get('X-Test-Cold-Shape');
    try {
      setLastCold(shape === 'boolean' ? coldFlag.cold : shape === 'string' ? String(coldFlag.cold) : coldFlag);
    } catch (err) {
      console.log(`setLastCold failed: ${err.name}: ${err.message}`);
      return new Response('setLastCold failed\n', { status: 500 });
    }
    console.log(JSON.stringify({ event: 'request', cold: coldFlag.cold, isolateAgeMs: coldFlag.isolateAgeMs }));
    if (request.method !== 'POST') return new Response('ok\n');
    const secret = env.TELEGRAM_WEBHOOK_SECRET;
    if (secret && request.headers.get('X-Telegram-Bot-Api-Secret-Token') !== secret) {
      return new Response('forbidden\n', { status: 403 });
    }
    let update;
    try {
      update = await request.json();
    } catch {
      return new Response('bad json\n', { status: 400 });
    }
    try {
      await bot({ update });
    } catch (err) {
      // As a bot's error handler would: plain text naming the exception (the soak's text rule).
      console.log(`handler failed: ${err.name}: ${err.message}`);
      return new Response('handler error\n', { status: 500 });
    }
    return new Response('ok\n');
  },
};
