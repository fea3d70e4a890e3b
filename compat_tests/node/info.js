"use strict";
// node info.js
//
// Prints, as one JSON object, what node-resque's Queue API reports about the
// Redis at REDIS_URL (namespace "resque"): how node-resque reads state written
// by Ruby or Python.
//   {"queues":[...], "lengths":{queue:n}, "queued":{queue:[payload...]},
//    "stats":{...}, "workers":{...}, "workingOn":{...}, "failedCount":n, "failed":[...]}

const { Queue } = require("node-resque");
const { connectionDetails, fail, deadline } = require("./common");

async function main() {
  deadline(Number(process.env.NODE_RESQUE_DEADLINE || 30), "info.js");
  const queue = new Queue({ connection: connectionDetails() });
  let connectionError = null;
  queue.on("error", (error) => {
    connectionError = error;
  });
  await queue.connect();
  if (connectionError) throw connectionError;

  const queues = (await queue.queues()).sort();
  const lengths = {};
  const queued = {};
  for (const name of queues) {
    lengths[name] = await queue.length(name);
    queued[name] = await queue.queued(name, 0, -1);
  }
  const result = {
    queues,
    lengths,
    queued,
    stats: await queue.stats(),
    workers: await queue.workers(),
    workingOn: await queue.allWorkingOn(),
    failedCount: await queue.failedCount(),
    failed: await queue.failed(0, -1),
  };
  await queue.end();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => fail(`info.js: ${error.stack || error}`));
