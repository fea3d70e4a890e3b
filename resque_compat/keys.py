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
=================================  =======  ===================================================
"""

from __future__ import annotations

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

    def everything(self) -> str:
        """The KEYS pattern matching every key of this namespace."""
        return f"{self.prefix}*"

    def strip(self, key: str) -> str:
        """A full key without the namespace prefix, as ``Resque.keys`` returns it."""
        return key[len(self.prefix) :] if key.startswith(self.prefix) else key


def multi_queue_failed_name(queue: str) -> str:
    """RedisMultiQueue's list name for a queue's failures (``<queue>_failed``)."""
    return f"{queue}_failed"
