"""Every Redis key of Resque 3.0's schema, and nowhere else.

Ruby Resque reaches Redis through redis-namespace, which prefixes every key with
``<namespace>:`` (``resque:`` unless configured, nested namespaces such as
``resque:GitHub`` included). The table below is the whole schema as Ruby Resque 3.0
writes it; each row is one method of ``Keys``. No other module spells a key.

=================================  =======  ===================================================
key (after the namespace prefix)   type     content
=================================  =======  ===================================================
queues                             set      names of the known queues
queue:<queue>                      list     JSON payloads ``{"class":..,"args":[..]}``, RPUSH in,
                                            LPOP out
workers                            set      worker ids ``host:pid:queue,queue``
worker:<id>                        string   JSON ``{"queue","run_at","payload"}`` while the worker
                                            runs a job; absent when idle
worker:<id>:started                string   Ruby ``Time#to_s`` of the worker's start
workers:heartbeat                  hash     worker id -> ISO 8601 time of its last heartbeat
stat:processed, stat:failed        string   integer counters for the whole fleet
stat:processed:<id>,               string   per-worker counters, deleted at unregister
stat:failed:<id>
failed                             list     failure records (Redis failure backend)
<queue>_failed                     list     failure records (RedisMultiQueue backend)
failed_queues                      set      names of the ``<queue>_failed`` lists
pruning_dead_workers_in_progress   string   lock (SET NX EX) taken by the worker that prunes
pause-all-workers                  string   when "true" (any case, stripped) every worker pauses
delayed_queue_schedule             zset     resque-scheduler: integer Unix seconds that have
                                            delayed jobs, each member equal to its score
delayed:<ts>                       list     ``{"class":..,"args":[..],"queue":..}`` due at <ts>
timestamps:<that exact JSON>       set      ``delayed:<ts>`` (no namespace) of each list that
                                            holds the payload
<namespace>:[<prefix>:]            string   the scheduler master lock, ``host:pid`` with a TTL;
resque_scheduler_master_lock                namespaced twice (Ruby builds the key with
                                            ``Resque.redis.namespace``, then redis-namespace
                                            prefixes it again); <prefix> from
                                            RESQUE_SCHEDULER_MASTER_LOCK_PREFIX
resque-compat:delayed-wakeup       channel  (pub/sub, ours) a Python producer publishes the
                                            timestamp it delays to, so that a sleeping Python
                                            scheduler wakes for an earlier one; Ruby never sees it
=================================  =======  ===================================================

The plugins' keys (``resque_compat.plugins``), under the same namespace, as each Ruby plugin
writes them:

=================================  =======  ===================================================
key (after the namespace prefix)   type     content
=================================  =======  ===================================================
status:<uuid>                      string   resque-status: JSON status hash (``time``,
                                            ``status``, ``uuid``, ``options``, ``name``,
                                            ``num``, ``total``, ``message``...), may expire
_statuses                          zset     resque-status: uuids scored by creation time
_kill                              set      resque-status: uuids asked to stop
loners:queue:<q>:job:<md5>         string   resque-loner: "1" while the unique job is queued
lock:<Class>:<identifier>          string   resque-lock-timeout: "true", or the Unix second
                                            the lock expires at when it has a timeout
loner:lock:<Class>:<identifier>    string   resque-lock-timeout ``@loner``: held from enqueue
                                            until the job takes its perform lock
resque-retry:<Class>[:<sha1>]      string   resque-retry: attempt counter (-1, then INCR)
failure-resque-retry:<Class>...    string   MultipleWithRetrySuppression: the failure record
                                            kept while a delayed retry is pending (SETEX)
=================================  =======  ===================================================

Recurring schedules (resque-scheduler 5.0's dynamic schedules; its ``Resque.set_schedule``):

=================================  =======  ===================================================
key (after the namespace prefix)   type     content
=================================  =======  ===================================================
persistent_schedules               hash     schedule name -> JSON of its config (``persist``
                                            removed), as ``Resque.encode`` writes it
schedules_changed                  set      names set or removed since the master scheduler
                                            last loaded them (read with SPOP, DEL on a load)
delayed:last_enqueued_at           hash     schedule name -> Ruby ``Time.now.to_s`` of its last
                                            firing (``2026-12-06 03:54:13 +0000``)
=================================  =======  ===================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_NAMESPACE = "resque"

PROCESSED = "processed"
"""The stat of jobs finished, failed ones included: ``stat:processed``, ``stat:processed:<id>``."""
FAILED = "failed"
"""The stat of jobs failed (not counting children killed by a signal, as Ruby):
``stat:failed``, ``stat:failed:<id>``."""


@dataclass(frozen=True)
class Keys:
    """Key names under one namespace. An empty namespace means no prefix at all."""

    namespace: str = DEFAULT_NAMESPACE

    @property
    def prefix(self) -> str:
        return f"{self.namespace}:" if self.namespace else ""

    def queues(self) -> str:
        return f"{self.prefix}queues"

    def queue(self, queue: str) -> str:
        return f"{self.prefix}queue:{queue}"

    def workers(self) -> str:
        return f"{self.prefix}workers"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}worker:{worker_id}"

    def worker_started(self, worker_id: str) -> str:
        return f"{self.prefix}worker:{worker_id}:started"

    def heartbeats(self) -> str:
        return f"{self.prefix}workers:heartbeat"

    def stat(self, name: str) -> str:
        """``stat:processed``, ``stat:failed`` (``PROCESSED``, ``FAILED``), any other name a
        Ruby app counts with ``Resque::Stat``, or a per-worker ``stat:processed:<id>``."""
        return f"{self.prefix}stat:{name}"

    def worker_stat(self, name: str, worker_id: str) -> str:
        return self.stat(f"{name}:{worker_id}")

    def failed(self) -> str:
        return f"{self.prefix}failed"

    def failed_list(self, list_name: str) -> str:
        """A failure list by its bare name: ``failed`` or a RedisMultiQueue ``<q>_failed``."""
        return f"{self.prefix}{list_name}"

    def failed_queues(self) -> str:
        return f"{self.prefix}failed_queues"

    def pruning_lock(self) -> str:
        return f"{self.prefix}pruning_dead_workers_in_progress"

    def pause_all(self) -> str:
        return f"{self.prefix}pause-all-workers"

    def delayed_schedule(self) -> str:
        return f"{self.prefix}delayed_queue_schedule"

    def delayed(self, timestamp: int) -> str:
        return f"{self.delayed_prefix()}{timestamp}"

    def delayed_prefix(self) -> str:
        """``delayed:`` with the namespace, for the mover script to append timestamps to."""
        return f"{self.prefix}{DELAYED_MEMBER_PREFIX}"

    def delayed_timestamps(self, payload: bytes) -> bytes:
        """``timestamps:<payload>``: bytes, because the key embeds the payload's exact bytes."""
        return self.delayed_timestamps_prefix() + payload

    def delayed_timestamps_prefix(self) -> bytes:
        return f"{self.prefix}timestamps:".encode()

    def scheduler_master_lock(self, lock_prefix: str = "") -> str:
        """resque-scheduler's master lock: ``Resque.redis.namespace`` inside the key, then the
        namespace again, and RESQUE_SCHEDULER_MASTER_LOCK_PREFIX plus ``:`` when set."""
        infix = f"{lock_prefix}:" if lock_prefix else ""
        return f"{self.prefix}{self.namespace}:{infix}resque_scheduler_master_lock"

    def delayed_wakeup(self) -> str:
        return f"{self.prefix}resque-compat:delayed-wakeup"

    # -- plugins ------------------------------------------------------------------------

    def status(self, uuid: str) -> str:
        return f"{self.prefix}status:{uuid}"

    def statuses(self) -> str:
        return f"{self.prefix}_statuses"

    def status_kill(self) -> str:
        return f"{self.prefix}_kill"

    def loner(self, queue: str, digest: str) -> str:
        return f"{self.prefix}loners:queue:{queue}:job:{digest}"

    def loners_of(self, queue: str) -> str:
        """The KEYS pattern of one queue's loner keys (Ruby's ``cleanup_loners``)."""
        return f"{self.prefix}loners:queue:{queue}:job:*"

    def lock(self, class_name: str, identifier: str | None) -> str:
        """``lock:<Class>:<identifier>``; Ruby drops the last part when it is nil."""
        suffix = "" if identifier is None else f":{identifier}"
        return f"{self.prefix}lock:{class_name}{suffix}"

    def loner_lock(self, class_name: str, identifier: str | None) -> str:
        suffix = "" if identifier is None else f":{identifier}"
        return f"{self.prefix}loner:lock:{class_name}{suffix}"

    def retry_counter(self, bare_key: str) -> str:
        """The counter under the namespace; ``bare_key`` comes from :func:`retry_key_name`."""
        return f"{self.prefix}{bare_key}"

    def retry_failure(self, bare_key: str) -> str:
        """MultipleWithRetrySuppression's ``failure-<retry key>``."""
        return f"{self.prefix}failure-{bare_key}"

    # -- recurring schedules (resque-scheduler) --

    def persistent_schedules(self) -> str:
        return f"{self.prefix}persistent_schedules"

    def schedules_changed(self) -> str:
        return f"{self.prefix}schedules_changed"

    def last_enqueued_at(self) -> str:
        return f"{self.prefix}delayed:last_enqueued_at"

    def everything(self) -> str:
        """The KEYS pattern matching every key of this namespace."""
        return f"{self.prefix}*"

    def strip(self, key: str) -> str:
        """A full key without the namespace prefix, as ``Resque.keys`` returns it."""
        return key[len(self.prefix) :] if key.startswith(self.prefix) else key


DELAYED_MEMBER_PREFIX = "delayed:"


def delayed_member(timestamp: int) -> str:
    """``delayed:<ts>`` without the namespace, as the ``timestamps:`` sets hold it."""
    return f"{DELAYED_MEMBER_PREFIX}{timestamp}"


def multi_queue_failed_name(queue: str) -> str:
    """RedisMultiQueue's list name for a queue's failures (``<queue>_failed``)."""
    return f"{queue}_failed"


_RUBY_SPACE = re.compile(r"[ \t\r\n\f\v]")


def retry_key_name(class_name: str, digest: str | None) -> str:
    """resque-retry's ``redis_retry_key`` without the namespace: ``resque-retry:<Class>``,
    then ``:<digest>`` unless there is none, with every whitespace character removed."""
    parts = ["resque-retry", class_name] if digest is None else ["resque-retry", class_name, digest]
    return _RUBY_SPACE.sub("", ":".join(parts))
