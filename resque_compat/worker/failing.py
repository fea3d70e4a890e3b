"""Where a failed job's record goes when the worker can push it itself.

Resque's two Redis backends keep records in lists: ``failed`` (``Resque::Failure::Redis``)
or ``<queue>_failed`` registered in ``failed_queues`` (``RedisMultiQueue``). For those the
record is pushed by the script that finishes the job, guarded by ``worker:<id>`` like the
counters: the worker repeats a finish whose reply was lost, and the guard makes the repeat
write nothing twice. Other backends (an app's own, ``Multiple``) save through their own
``save``; the same bytes are written either way (``encode_record``).
"""

from __future__ import annotations

from ..failure import Failure, FailureBackend, RedisBackend, RedisMultiQueueBackend
from ..failure.record import encode_record
from ..keys import multi_queue_failed_name
from ..store.lifecycle import FailurePush


def list_push(backend: FailureBackend, failure: Failure) -> FailurePush | None:
    """The push the finishing script makes for ``backend``; None when it is not one of the
    two list backends exactly (a subclass may save differently)."""
    if type(backend) is RedisBackend:
        return FailurePush(backend.ops.default_list, encode_record(failure, backend.json_style))
    if type(backend) is RedisMultiQueueBackend:
        record = encode_record(failure, backend.json_style)
        return FailurePush(multi_queue_failed_name(failure.queue), record, registered=True)
    return None
