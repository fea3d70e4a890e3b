"use strict";
// node worker.js QUEUES [--max-jobs N] [--idle-exit SECONDS] [--poll-ms MS] [--deadline SECONDS]
//
// A node-resque Worker (namespace "resque", connection from REDIS_URL) on the
// comma-separated QUEUES, with the jobs the cross-runtime tests share with
// Ruby (ruby_fixtures/jobs.rb) and Python:
//   RecordArgs  pushes {"runtime":"node","pid":<pid>,"args":[...]} to the plain
//               (un-namespaced) list compat:performed
//   Slow        sleeps args[0] seconds, then records like RecordArgs
//   Failing     throws Error("boom")
//   Noop        does nothing
//
// It never runs forever: it stops gracefully (unregistering itself) after
// --max-jobs jobs (successes + failures), after --idle-exit seconds without a
// job, on SIGTERM/SIGINT, and is killed with exit code 3 after --deadline
// seconds (default 120). Without --max-jobs and --idle-exit it idles out after
// 30 seconds. On a graceful stop it prints one JSON summary line to stdout:
//   {"name":"host:pid","queues":[...],"succeeded":N,"failed":N,"stopped_by":"..."}
// Events are logged to stderr.

const { Worker } = require("node-resque");
const {
  PERFORMED_KEY,
  connectionDetails,
  plainRedis,
  fail,
  deadline,
} = require("./common");

function parseArgs(argv) {
  const opts = { queues: null, maxJobs: null, idleExit: null, pollMs: 100, deadline: 120 };
  const numeric = { "--max-jobs": "maxJobs", "--idle-exit": "idleExit", "--poll-ms": "pollMs", "--deadline": "deadline" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (numeric[arg]) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) fail(`${arg} needs a non-negative number`);
      opts[numeric[arg]] = value;
    } else if (arg.startsWith("--")) {
      fail(`unknown option ${arg}`);
    } else if (opts.queues === null) {
      opts.queues = arg.split(",").map((q) => q.trim()).filter((q) => q.length > 0);
    } else {
      fail(`unexpected argument ${arg}`);
    }
  }
  if (!opts.queues || opts.queues.length === 0) {
    fail("usage: node worker.js QUEUES [--max-jobs N] [--idle-exit SECONDS] [--poll-ms MS] [--deadline SECONDS]");
  }
  if (opts.maxJobs === null && opts.idleExit === null) opts.idleExit = 30;
  return opts;
}

function makeJobs(recorder) {
  const record = async (args) => {
    const entry = JSON.stringify({ runtime: "node", pid: process.pid, args });
    await recorder.rpush(PERFORMED_KEY, entry);
  };
  return {
    RecordArgs: {
      perform: async (...args) => record(args),
    },
    Slow: {
      perform: async (...args) => {
        const seconds = args.length > 0 ? Number(args[0]) : 1;
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
        await record(args);
      },
    },
    Failing: {
      perform: async () => {
        throw new Error("boom");
      },
    },
    Noop: {
      perform: async () => null,
    },
  };
}

function log(event, details) {
  process.stderr.write(`${JSON.stringify({ event, ...details })}\n`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  deadline(opts.deadline, "worker.js");

  const recorder = plainRedis();
  const worker = new Worker(
    { connection: connectionDetails(), queues: opts.queues, timeout: opts.pollMs },
    makeJobs(recorder),
  );

  const counts = { succeeded: 0, failed: 0 };
  let lastActivity = Date.now();
  let stopping = null;

  const stop = (reason, code = 0) => {
    if (stopping) return stopping;
    stopping = (async () => {
      clearInterval(idleTimer);
      await worker.end();
      await recorder.quit();
      process.stdout.write(
        `${JSON.stringify({ name: worker.name, queues: opts.queues, ...counts, stopped_by: reason })}\n`,
      );
      process.exitCode = code;
    })().catch((error) => fail(`worker.js: error while stopping: ${error.stack || error}`));
    return stopping;
  };

  const finished = () => {
    lastActivity = Date.now();
    if (opts.maxJobs !== null && counts.succeeded + counts.failed >= opts.maxJobs) {
      stop("max-jobs");
    }
  };

  worker.on("job", (queue, job) => {
    lastActivity = Date.now();
    log("job", { queue, job });
  });
  worker.on("success", (queue, job) => {
    counts.succeeded += 1;
    log("success", { queue, class: job.class });
    finished();
  });
  worker.on("failure", (queue, job, failure) => {
    counts.failed += 1;
    log("failure", { queue, class: job.class, error: String(failure) });
    finished();
  });
  worker.on("error", (error, queue) => {
    log("error", { queue, error: String(error && error.stack ? error.stack : error) });
  });

  const idleTimer = setInterval(() => {
    if (opts.idleExit !== null && !worker.working && Date.now() - lastActivity >= opts.idleExit * 1000) {
      stop("idle-exit");
    }
  }, 50);

  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  await worker.connect();
  if (!worker.connection.connected) {
    throw new Error("could not connect to Redis at REDIS_URL");
  }
  await worker.start();
  log("started", { name: worker.name, queues: opts.queues });
}

main().catch((error) => fail(`worker.js: ${error.stack || error}`));
