#!/usr/bin/env bash
# Installs Debian's Ruby and the gems the shared Ruby trees need (../shared/ruby/README.md),
# when they are missing: Ruby 3.1, redis-rb, Sinatra for resque-web, ActiveJob, Oj and
# rufus-scheduler for resque-scheduler, and Debian's Chromium for the resque-web pages.
set -euo pipefail

PACKAGES=(ruby ruby-redis ruby-redis-namespace ruby-sinatra ruby-mono-logger ruby-multi-json
    ruby-rack ruby-webrick ruby-activejob ruby-globalid ruby-oj ruby-rufus-scheduler ruby-fugit
    ruby-et-orbi ruby-raabro ruby-tzinfo chromium)

probe='require "redis"; require "redis/namespace"; require "sinatra/base"; require "mono_logger";
require "multi_json"; require "active_job"; require "oj"; require "rufus-scheduler"'
if command -v ruby >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 \
    && ruby -e "$probe" >/dev/null 2>&1; then
    exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
