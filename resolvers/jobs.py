"""Admin root fields over background jobs: list dead letters, requeue one."""

from __future__ import annotations

import strawberry

from app.security.permissions import IsAdmin
from resolvers.mutations import mutate, require_viewer
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError, Result
from schema.jobs import DeadJob, RequeueJobInput, RequeueJobResult, RequeueJobSuccess
from schema.pagination import Connection
from services import dead_jobs
from services.errors import InvalidInput
from services.unit_of_work import UnitOfWork


@strawberry.type
class JobQueries:
    @strawberry.field(
        description="Jobs that failed their last attempt, oldest first. Admins only.",
        permission_classes=[IsAdmin],
    )
    async def dead_jobs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DeadJob]:
        viewer = require_viewer(info)
        try:
            page = await dead_jobs.dead_jobs(
                info.context.session_factory, viewer, first=first, after=after
            )
        except InvalidInput as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Connection.from_page(page, DeadJob.from_row)


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Queue a dead job again, attempts reset. Admins only.",
        permission_classes=[IsAdmin],
        graphql_type=RequeueJobResult,
    )
    async def requeue_job(self, info: Info, input: RequeueJobInput) -> Result[RequeueJobSuccess]:
        viewer = require_viewer(info)

        async def run(work: UnitOfWork) -> RequeueJobSuccess:
            try:
                job_id = int(input.id)
            except ValueError:
                raise InvalidInput("not a job id", field="input.id") from None
            job = await dead_jobs.requeue_dead_job(work, viewer, job_id=job_id)
            return RequeueJobSuccess(job=DeadJob.from_row(job))

        return await mutate(info, run)
