"use strict";
// node worker.js [POLL_MS]
//
// One node-resque Worker on queue "bench" (namespace "resque", REDIS_URL), polling every
// POLL_MS milliseconds when idle (default 100), with the bench jobs:
//   BenchNoop   does nothing
//   BenchStamp  reads the clock first, then appends {"tag","t","runtime":"node","pid"}
//               to the plain list bench:stamps
// Stops (unregistering) on SIGTERM or SIGINT; gives up after 600 s in any case.

const { load, connectionDetails, epochSeconds, fail } = require("./common");

const { Worker } = load("node-resque");
const IORedis = load("ioredis");

async function main() {
  const pollMs = Number(process.argv[2] || 100);
  const stamps = new IORedis(process.env.REDIS_URL);
  const jobs = {
    BenchNoop: { perform: async () => null },
    BenchStamp: {
      perform: async (tag) => {
        const t = epochSeconds();
        const entry = { tag, t, runtime: "node", pid: process.pid };
        await stamps.rpush("bench:stamps", JSON.stringify(entry));
      },
    },
  };
  const worker = new Worker(
    { connection: connectionDetails(), queues: ["bench"], timeout: pollMs },
    jobs,
  );
  worker.on("error", (error) => process.stderr.write(`worker error: ${error}\n`));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await worker.end();
    await stamps.quit();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setTimeout(() => fail("worker.js: deadline of 600 s passed"), 600_000).unref();
  await worker.connect();
  await worker.start();
}

main().catch((error) => fail(`worker.js: ${error.stack || error}`));
