"use strict";
// node enqueue.js COUNT [PAD_BYTES]
//
// queue.enqueue("bench", "BenchNoop", [i] or [i, pad]) COUNT times, each awaited before the
// next (one by one, as the Ruby and Python runs do); prints {"count","seconds"}, where the
// time excludes start-up and connecting.

const { load, connectionDetails, fail } = require("./common");

const { Queue } = load("node-resque");

async function main() {
  const count = Number(process.argv[2]);
  const padBytes = Number(process.argv[3] || 0);
  if (!Number.isInteger(count) || count < 1) fail("usage: node enqueue.js COUNT [PAD_BYTES]");
  const pad = "x".repeat(padBytes);
  const queue = new Queue({ connection: connectionDetails() });
  queue.on("error", (error) => fail(`enqueue.js: ${error}`));
  await queue.connect();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await queue.enqueue("bench", "BenchNoop", padBytes > 0 ? [i, pad] : [i]);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await queue.end();
  process.stdout.write(`${JSON.stringify({ count, seconds })}\n`);
}

main().catch((error) => fail(`enqueue.js: ${error.stack || error}`));
