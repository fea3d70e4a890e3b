"use strict";
// Shared by the node-resque bench scripts: the connection from REDIS_URL (namespace
// "resque", as Ruby's), node-resque taken from the install the compat tests already have
// (compat_tests/node/node_modules), and the wall clock in microseconds.

const path = require("path");

const NODE_MODULES = path.resolve(__dirname, "..", "..", "compat_tests", "node", "node_modules");

function load(name) {
  return require(path.join(NODE_MODULES, name));
}

function connectionDetails() {
  const url = new URL(process.env.REDIS_URL || "redis://127.0.0.1:6379/0");
  const db = url.pathname.replace(/^\//, "");
  return {
    pkg: "ioredis",
    host: url.hostname || "127.0.0.1",
    port: url.port ? Number(url.port) : 6379,
    database: db ? Number(db) : 0,
    namespace: "resque",
  };
}

// Epoch seconds with sub-millisecond resolution (Date.now() has only milliseconds).
function epochSeconds() {
  return (performance.timeOrigin + performance.now()) / 1000;
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

module.exports = { load, connectionDetails, epochSeconds, fail };
