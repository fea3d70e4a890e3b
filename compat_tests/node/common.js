"use strict";
// Shared helpers for the node-resque scripts driven by compat_tests/runtimes.py.
//
// The connection is built from REDIS_URL with node-resque's ordinary
// host/port/database options (the way applications configure it), namespace
// "resque" (node-resque's default, spelled out so the test does not depend on
// the default), and ioredis settings that make an unreachable server an error
// instead of an endless reconnect loop.

const IORedis = require("ioredis");

const NAMESPACE = "resque";
const PERFORMED_KEY = "compat:performed";

function redisUrl() {
  const url = process.env.REDIS_URL;
  if (!url) {
    fail("REDIS_URL must be set (redis://host:port/db)");
  }
  return url;
}

function ioredisOptions() {
  return {
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (times) => (times > 3 ? null : 200),
  };
}

function connectionDetails() {
  const url = new URL(redisUrl());
  const db = url.pathname.replace(/^\//, "");
  const options = ioredisOptions();
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  return {
    pkg: "ioredis",
    host: url.hostname || "127.0.0.1",
    port: url.port ? Number(url.port) : 6379,
    database: db ? Number(db) : 0,
    namespace: NAMESPACE,
    options,
  };
}

// A plain client without namespace, for the compat:performed record list.
function plainRedis() {
  return new IORedis(redisUrl(), ioredisOptions());
}

function fail(message, code = 2) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

// Kill the process if it outlives `seconds`: no script may hang a test run.
function deadline(seconds, what) {
  const timer = setTimeout(() => {
    fail(`${what}: gave up after ${seconds}s (deadline)`, 3);
  }, seconds * 1000);
  timer.unref();
}

module.exports = { NAMESPACE, PERFORMED_KEY, connectionDetails, plainRedis, fail, deadline };
