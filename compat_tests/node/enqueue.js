"use strict";
// node enqueue.js QUEUE CLASS [JSON_ARGS]
//
// Enqueues one job with node-resque's Queue#enqueue (namespace "resque",
// connection from REDIS_URL). JSON_ARGS must be a JSON array (default "[]"),
// passed to enqueue as-is. Prints {"enqueued":true,"queue":...,"class":...,"args":[...]}.

const { Queue } = require("node-resque");
const { connectionDetails, fail, deadline } = require("./common");

async function main() {
  const [queueName, className, jsonArgs = "[]"] = process.argv.slice(2);
  if (!queueName || !className) fail("usage: node enqueue.js QUEUE CLASS [JSON_ARGS]");
  let args;
  try {
    args = JSON.parse(jsonArgs);
  } catch (error) {
    fail(`JSON_ARGS is not JSON: ${error.message}`);
  }
  if (!Array.isArray(args)) fail("JSON_ARGS must be a JSON array");

  deadline(Number(process.env.NODE_RESQUE_DEADLINE || 30), "enqueue.js");
  const queue = new Queue({ connection: connectionDetails() });
  let connectionError = null;
  queue.on("error", (error) => {
    connectionError = error;
  });
  await queue.connect();
  if (connectionError) throw connectionError;
  const enqueued = await queue.enqueue(queueName, className, args);
  await queue.end();
  process.stdout.write(
    `${JSON.stringify({ enqueued, queue: queueName, class: className, args })}\n`,
  );
}

main().catch((error) => fail(`enqueue.js: ${error.stack || error}`));
