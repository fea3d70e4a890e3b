"""The producer and inspection API for asyncio applications (FastAPI, aiohttp...).

Same operations as ``resque_compat.client`` (so the same commands on the wire), run on
redis-py's asyncio client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis.asyncio

from .client import ClientOptions, JobRef, ResqueOperations
from .connection import RedisSettings
from .delayed import AsyncDelayedMixin, When, activejob_due, enqueue_activejob_at
from .schedules import AsyncScheduleMethods
from .store import AsyncDriver


class AsyncResque(AsyncDelayedMixin, AsyncScheduleMethods):
    """``Resque``'s enqueue/inspect surface with ``await``."""

    ops: ResqueOperations

    def __init__(
        self,
        settings: RedisSettings | None = None,
        options: ClientOptions | None = None,
        client: redis.asyncio.Redis | None = None,
    ) -> None:
        self.settings = settings or RedisSettings()
        self.options = options or ClientOptions()
        self.ops = ResqueOperations(self.settings, self.options)
        self.redis = client or self.settings.async_client()
        self.driver = AsyncDriver(self.redis)

    @classmethod
    def from_url(
        cls, url: str | None = None, namespace: str | None = None, **options: Any
    ) -> AsyncResque:
        return cls(RedisSettings.from_url(url, namespace), ClientOptions(**options))

    async def close(self) -> None:
        await self.redis.aclose()

    async def __aenter__(self) -> AsyncResque:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def enqueue(self, job: JobRef, *args: Any) -> bool | None:
        return await self.enqueue_to(self.ops.queue_of(job), job, *args)

    async def enqueue_to(self, queue: str, job: JobRef, *args: Any) -> bool | None:
        return await self.driver.run(self.ops.enqueue_to(queue, job, args))

    async def enqueue_many(
        self, queue: str, job: JobRef, arg_lists: Iterable[Sequence[Any]]
    ) -> int:
        return await self.driver.run(self.ops.enqueue_many(queue, job, arg_lists))

    async def enqueue_activejob(
        self,
        job_class: str,
        /,
        *args: Any,
        queue: str | None = None,
        priority: int | None = None,
        wait: float | None = None,
        wait_until: When | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Rails' ``perform_later`` through Resque's adapter (see ``activejob``): the job_id,
        or None when a before_enqueue hook said no; ``wait``/``wait_until`` as Rails'
        ``set(wait:)``/``set(wait_until:)``."""
        if (due := activejob_due(wait, wait_until)) is not None:
            op = enqueue_activejob_at(self.ops, job_class, args, kwargs, queue, priority, due)
            return await self.driver.run(op)
        return await self.driver.run(
            self.ops.enqueue_activejob(job_class, args, kwargs, queue, priority)
        )

    async def dequeue(self, job: JobRef, *args: Any) -> int | None:
        return await self.driver.run(self.ops.dequeue(job, args))

    async def push(self, queue: str, item: Mapping[str, Any]) -> int:
        return await self.driver.run(self.ops.push(queue, item))

    async def pop(self, queue: str) -> Any:
        return await self.driver.run(self.ops.pop(queue))

    async def size(self, queue: str) -> int:
        return await self.driver.run(self.ops.schema.queues.size(queue))

    async def peek(self, queue: str, start: int = 0, count: int = 1) -> Any:
        return await self.driver.run(self.ops.peek(queue, start, count))

    async def queues(self) -> list[str]:
        return await self.driver.run(self.ops.schema.queues.names())

    async def queue_sizes(self) -> dict[str, int]:
        return await self.driver.run(self.ops.schema.queues.sizes())

    async def remove_queue(self, queue: str) -> None:
        await self.driver.run(self.ops.remove_queue(queue))

    async def info(self) -> dict[str, Any]:
        return await self.driver.run(self.ops.info())

    async def workers(self) -> list[str]:
        return await self.driver.run(self.ops.schema.workers.ids())

    async def stat(self, name: str) -> int:
        return await self.driver.run(self.ops.schema.stats.get(name))
