// `wrangler tail --format pretty` as wrangler 4.86 prints it (src/tail/printing.ts prettyPrintLogs:
// a header line per event, then `logger.log("  (level)", ...message)`, i.e. util.format), for the
// tail event messages given as a JSON array on stdin. Exceptions go to stderr, as in wrangler.
import util from "node:util";

const prettifyOutcome = (outcome) => ({
  ok: "Ok", canceled: "Canceled", exceededCpu: "Exceeded CPU Limit",
  exceededMemory: "Exceeded Memory Limit", exception: "Exception Thrown",
})[outcome] ?? "Unknown";

let input = "";
for await (const chunk of process.stdin) input += chunk;
for (const message of JSON.parse(input)) {
  const outcome = prettifyOutcome(message.outcome);
  const datetime = new Date(message.eventTimestamp).toLocaleString();
  if (message.event && "cron" in message.event) {
    console.log(`"${message.event.cron}" @ ${datetime} - ${outcome}`);
  } else if (message.event && "request" in message.event) {
    const url = message.event.request.url;
    console.log(url ? `${message.event.request.method.toUpperCase()} ${url} - ${outcome} @ ${datetime}`
                    : `[missing request] - ${outcome} @ ${datetime}`);
  } else {
    console.log(`Unknown Event - ${outcome} @ ${datetime}`);
  }
  for (const { level, message: parts } of message.logs) console.log(util.format(`  (${level})`, ...parts));
  for (const err of message.exceptions) {
    console.error(`${err.name}: ${typeof err.message === "string" ? err.message : util.inspect(err.message)}`);
  }
}
