"""Admin root fields over background jobs: list dead letters, requeue one."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import BAD_USER_INPUT, FORBIDDEN, UNAUTHENTICATED, ApiError, user_error
from schema.jobs import DeadJob, RequeueJobInput, RequeueJobResult, RequeueJobSuccess
from schema.pagination import Connection
from services import jobs
from services.errors import DomainError, InvalidInput
from services.unit_of_work import unit_of_work
from services.viewer import Viewer


def admin(info: Info) -> Viewer:
    viewer = info.context.viewer
    if viewer is None:
        raise ApiError("sign in as an admin to manage background jobs", UNAUTHENTICATED)
    if not viewer.is_admin:
        raise ApiError("only admins manage background jobs", FORBIDDEN)
    return viewer


@strawberry.type
class JobQueries:
    @strawberry.field(description="Jobs that failed their last attempt, oldest first. Admins only.")
    async def dead_jobs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DeadJob]:
        viewer = admin(info)
        try:
            page = await jobs.dead_jobs(
                info.context.session_factory, viewer, first=first, after=after
            )
        except InvalidInput as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Connection.from_page(page, DeadJob.from_row)


@strawberry.type
class JobMutations:
    @strawberry.mutation(description="Queue a dead job again, attempts reset. Admins only.")
    async def requeue_job(self, info: Info, input: RequeueJobInput) -> RequeueJobResult:
        viewer = admin(info)
        try:
            job_id = int(input.id)
        except ValueError:
            return user_error(InvalidInput("not a job id", field="input.id"))  # type: ignore[return-value]
        try:
            async with unit_of_work(info.context.session_factory, info.context.broker) as work:
                job = await jobs.requeue_dead_job(work.session, viewer, job_id=job_id)
        except DomainError as error:
            return user_error(error)  # type: ignore[return-value]
        return RequeueJobSuccess(job=DeadJob.from_row(job))
