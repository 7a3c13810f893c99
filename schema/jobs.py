"""Background jobs as admins see them: dead letters, and requeueing one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry.scalars import JSON

from schema.errors import InvalidInputError, NotFoundError
from services import dead_jobs


@strawberry.type(
    description="A job that failed its last allowed attempt. Fix the cause, then requeue it."
)
class DeadJob:
    id: strawberry.ID = strawberry.field(description="The job's number in the queue.")
    entrypoint: str = strawberry.field(description='The handler, as "<domain>.<verb>".')
    runs: int = strawberry.field(description="How many times it ran, the last included.")
    payload: JSON
    created_at: datetime
    failed_at: datetime
    error: str | None = strawberry.field(description="The last failure, as `Type: message`.")

    @classmethod
    def from_row(cls, job: dead_jobs.DeadJob) -> Self:
        payload: Any = job.payload
        return cls(
            id=strawberry.ID(str(job.id)),
            entrypoint=job.entrypoint,
            runs=job.runs,
            payload=payload,
            created_at=job.created_at,
            failed_at=job.failed_at,
            error=job.error,
        )


@strawberry.input
class RequeueJobInput:
    id: strawberry.ID = strawberry.field(description="A dead job's `id`.")


@strawberry.type(description="The job is queued again with its attempts reset.")
class RequeueJobSuccess:
    job: DeadJob = strawberry.field(description="The job as it was when requeued.")


RequeueJobResult = Annotated[
    RequeueJobSuccess | NotFoundError | InvalidInputError, strawberry.union("RequeueJobResult")
]
