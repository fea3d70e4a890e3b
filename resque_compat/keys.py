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
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NAMESPACE = "resque"


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
        """``stat:processed``, ``stat:failed``, or a per-worker ``stat:processed:<id>``."""
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
        return f"{self.prefix}{delayed_member(timestamp)}"

    def delayed_prefix(self) -> str:
        """``delayed:`` with the namespace, for the mover script to append timestamps to."""
        return f"{self.prefix}delayed:"

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

    def everything(self) -> str:
        """The KEYS pattern matching every key of this namespace."""
        return f"{self.prefix}*"

    def strip(self, key: str) -> str:
        """A full key without the namespace prefix, as ``Resque.keys`` returns it."""
        return key[len(self.prefix) :] if key.startswith(self.prefix) else key


def delayed_member(timestamp: int) -> str:
    """``delayed:<ts>`` without the namespace, as the ``timestamps:`` sets hold it."""
    return f"delayed:{timestamp}"


def multi_queue_failed_name(queue: str) -> str:
    """RedisMultiQueue's list name for a queue's failures (``<queue>_failed``)."""
    return f"{queue}_failed"
