"""Root fields that change bounties and applications: thin calls into services/bounties."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from app.security.permissions import IsAuthenticated, IsStaff
from app.security.rate_limits import limit_request
from resolvers.mutations import (
    attempt,
    identity_of,
    mutate,
    node_uuid,
    read_upload,
    require_viewer,
)
from schema import bounty_results as results
from schema.bounties import Bounty, BountyApplication, BountyImage
from schema.bounty_inputs import (
    ApplicationInput,
    ApplyToBountyInput,
    BountyNoteInput,
    BountyPaymentInput,
    CancelBountyInput,
    CreateBountyInput,
    OpenDisputeInput,
    PublishBountyInput,
    ResolveDisputeInput,
    ReviewUserInput,
    SubmitWorkInput,
    UpdateBountyInput,
)
from schema.context import Info
from schema.errors import Result, UserError
from schema.payments import PaymentSheet, PaymentStatus
from schema.reviews import Review
from services.bounties import applications, cards, delivery, drafting, queries, reviews
from services.payments import charges
from services.payments.interface import Payments, payments_for
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

UPDATABLE = ("title", "description", "category", "reward", "location", "remote", "deadline")


async def fresh_bounty(info: Info, bounty_id: uuid.UUID) -> Bounty:
    """The bounty as committed (read past the request's loader cache)."""
    [card] = await cards.cards_by_id(info.context.reads, [bounty_id])
    assert card is not None
    return Bounty.from_card(card)


async def _bounty_result(
    info: Info, run: Callable[[UnitOfWork], Awaitable[uuid.UUID]]
) -> Result[results.BountySuccess]:
    bounty_id = await mutate(info, run)
    if isinstance(bounty_id, UserError):
        return bounty_id
    return results.BountySuccess(bounty=await fresh_bounty(info, bounty_id))


async def _application_result(
    info: Info, run: Callable[[UnitOfWork], Awaitable[uuid.UUID]]
) -> Result[results.ApplicationSuccess]:
    application_id = await mutate(info, run)
    if isinstance(application_id, UserError):
        return application_id
    card = await queries.application_by_id(info.context.reads, application_id)
    return results.ApplicationSuccess(
        application=BountyApplication.from_card(card),
        bounty=await fresh_bounty(info, card.bounty_id),
    )


def _values(source: Any, names: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(source, name)
        if value is strawberry.UNSET:
            continue
        if name == "reward":
            if value is None:
                continue
            values["reward_amount"], values["reward_currency"] = value.amount, value.currency
        elif name == "location":
            values[name] = (value.latitude, value.longitude, value.place_name) if value else None
        else:
            values[name] = value
    return values


async def money_mover(info: Info) -> tuple[Viewer, Payments]:
    """The viewer and payments of a mutation that moves money, within the payments rate limit
    (fail closed: no money moves while the limiter cannot count)."""
    viewer = require_viewer(info)
    await limit_request(info.context, "payments", f"user:{viewer.user_id}")
    return viewer, payments_for(info.context.settings)


@strawberry.type
class BountyMutations:
    @strawberry.mutation(
        description="A new DRAFT bounty of yours.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.CreateBountyResult,
    )
    async def create_bounty(
        self, info: Info, input: CreateBountyInput
    ) -> Result[results.BountySuccess]:
        viewer = require_viewer(info)
        values = _values(input, UPDATABLE)

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await drafting.create_bounty(
                work, viewer, values=values, idempotency_key=input.idempotency_key
            )

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Poster only, while DRAFT or OPEN; the reward only while DRAFT.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.UpdateBountyResult,
    )
    async def update_bounty(
        self, info: Info, input: UpdateBountyInput
    ) -> Result[results.BountySuccess]:
        viewer = require_viewer(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")
        changes = drafting.BountyChanges(values=_values(input, UPDATABLE))

        async def run(work: UnitOfWork) -> uuid.UUID:
            await drafting.update_bounty(work, viewer, bounty_id=bounty_id, changes=changes)
            return bounty_id

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Add an image (multipart request; same checks as avatars; at most 8).",
        permission_classes=[IsAuthenticated],
        graphql_type=results.AddBountyImageResult,
    )
    async def add_bounty_image(
        self, info: Info, bounty_id: strawberry.relay.GlobalID, file: Upload
    ) -> Result[results.BountyImageSuccess]:
        viewer, media = require_viewer(info), identity_of(info).media
        target = node_uuid(bounty_id, "Bounty", field="bountyId")
        data = await read_upload(file)
        image_ids: list[uuid.UUID] = []

        async def run(work: UnitOfWork) -> uuid.UUID:
            image_ids.append(
                await drafting.add_image(work, viewer, media=media, bounty_id=target, data=data)
            )
            return target

        outcome = await _bounty_result(info, run)
        if not isinstance(outcome, results.BountySuccess):
            return outcome
        image = next(i for i in outcome.bounty.images if i.id == str(image_ids[0]))
        return results.BountyImageSuccess(bounty=outcome.bounty, image=image)

    @strawberry.mutation(
        description="Remove an image.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.RemoveBountyImageResult,
    )
    async def remove_bounty_image(
        self, info: Info, image_id: strawberry.ID
    ) -> Result[results.BountyImageSuccess]:
        viewer, media = require_viewer(info), identity_of(info).media
        try:
            target = uuid.UUID(str(image_id))
        except ValueError:
            target = uuid.UUID(int=0)  # matches no image: NOT_FOUND

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await drafting.remove_image(work, viewer, media=media, image_id=target)

        outcome = await _bounty_result(info, run)
        if not isinstance(outcome, results.BountySuccess):
            return outcome
        return results.BountyImageSuccess(bounty=outcome.bounty, image=None)

    @strawberry.mutation(
        description="Poster: DRAFT -> FUNDING_PENDING and a payment for the reward; the bounty "
        "opens to hunters when the payment succeeds (at once with a saved `paymentMethodId`, "
        "else once the app's PaymentSheet completes). A declined payment returns it to DRAFT.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.PublishBountyResult,
    )
    async def publish_bounty(
        self, info: Info, input: PublishBountyInput
    ) -> Result[results.PublishBountySuccess]:
        viewer, payments = await money_mover(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")
        context = info.context
        sheet = await attempt(
            charges.publish(
                context.session_factory, context.broker, viewer, payments=payments,
                bounty_id=bounty_id, key=input.idempotency_key,
                payment_method=input.payment_method_id,
            )
        )  # fmt: skip
        if isinstance(sheet, UserError):
            return sheet
        return results.PublishBountySuccess(
            bounty=await fresh_bounty(info, bounty_id),
            payment=PaymentSheet(
                status=PaymentStatus[sheet.status],
                payment_intent_id=sheet.payment_intent_id,
                client_secret=sheet.client_secret,
                customer_id=sheet.customer_id,
                ephemeral_key=sheet.ephemeral_key,
                publishable_key=sheet.publishable_key,
                failure=sheet.failure,
            ),
        )

    @strawberry.mutation(
        description="Poster: cancel a DRAFT, FUNDING_PENDING or OPEN bounty; funds are refunded.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.CancelBountyResult,
    )
    async def cancel_bounty(
        self, info: Info, input: CancelBountyInput
    ) -> Result[results.BountySuccess]:
        viewer, payments = await money_mover(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await delivery.cancel(
                work, viewer, payments=payments, bounty_id=bounty_id,
                key=input.idempotency_key, note=input.note,
            )  # fmt: skip

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Offer to do an OPEN bounty (one active application per bounty).",
        permission_classes=[IsAuthenticated],
        graphql_type=results.ApplyToBountyResult,
    )
    async def apply_to_bounty(
        self, info: Info, input: ApplyToBountyInput
    ) -> Result[results.ApplicationSuccess]:
        viewer = require_viewer(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await applications.apply(
                work, viewer, bounty_id=bounty_id, message=input.message,
                proposed_amount=input.proposed_amount, idempotency_key=input.idempotency_key,
            )  # fmt: skip

        return await _application_result(info, run)

    @strawberry.mutation(
        description="Withdraw your pending application.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.WithdrawApplicationResult,
    )
    async def withdraw_application(
        self, info: Info, input: ApplicationInput
    ) -> Result[results.ApplicationSuccess]:
        return await _on_application(info, input, applications.withdraw)

    @strawberry.mutation(
        description="Poster: assign the bounty to this applicant; other pending ones are rejected.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.AcceptApplicationResult,
    )
    async def accept_application(
        self, info: Info, input: ApplicationInput
    ) -> Result[results.ApplicationSuccess]:
        return await _on_application(info, input, applications.accept)

    @strawberry.mutation(
        description="Poster: turn a pending application down.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.RejectApplicationResult,
    )
    async def reject_application(
        self, info: Info, input: ApplicationInput
    ) -> Result[results.ApplicationSuccess]:
        return await _on_application(info, input, applications.reject)

    @strawberry.mutation(
        description="Assigned hunter: hand the work in.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.SubmitWorkResult,
    )
    async def submit_work(
        self, info: Info, input: SubmitWorkInput
    ) -> Result[results.BountySuccess]:
        viewer = require_viewer(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await delivery.submit_work(
                work, viewer, bounty_id=bounty_id, note=input.note, attachments=input.attachments
            )

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Poster: send submitted work back.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.RequestChangesResult,
    )
    async def request_changes(
        self, info: Info, input: BountyNoteInput
    ) -> Result[results.BountySuccess]:
        viewer = require_viewer(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await delivery.request_changes(
                work, viewer, bounty_id=bounty_id, note=input.note
            )

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Poster: accept submitted work; the reward is released to the hunter.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.ApproveCompletionResult,
    )
    async def approve_completion(
        self, info: Info, input: BountyPaymentInput
    ) -> Result[results.BountySuccess]:
        viewer, payments = await money_mover(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await delivery.approve(
                work, viewer, payments=payments, bounty_id=bounty_id, key=input.idempotency_key
            )

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Poster or assigned hunter: stop the work for a moderator to decide; the "
        "held reward is frozen until then.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.OpenDisputeResult,
    )
    async def open_dispute(
        self, info: Info, input: OpenDisputeInput
    ) -> Result[results.BountySuccess]:
        viewer, _ = await money_mover(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await delivery.open_dispute(
                work, viewer, bounty_id=bounty_id, reason=input.note, key=input.idempotency_key
            )

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Moderators: pay the hunter, refund the poster, or split the held funds "
        "between them (SPLIT with `split`).",
        permission_classes=[IsStaff],
        graphql_type=results.ResolveDisputeResult,
    )
    async def resolve_dispute(
        self, info: Info, input: ResolveDisputeInput
    ) -> Result[results.BountySuccess]:
        viewer, payments = await money_mover(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")
        outcome = delivery.DisputeOutcome(input.outcome.value)
        given = input.split
        split = (given.hunter_amount, given.poster_amount) if given is not None else None

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await delivery.resolve_dispute(
                work, viewer, payments=payments, bounty_id=bounty_id, outcome=outcome,
                note=input.note, key=input.idempotency_key, split=split,
            )  # fmt: skip

        return await _bounty_result(info, run)

    @strawberry.mutation(
        description="Rate the other side of a COMPLETED bounty (once each).",
        permission_classes=[IsAuthenticated],
        graphql_type=results.ReviewUserResult,
    )
    async def review_user(
        self, info: Info, input: ReviewUserInput
    ) -> Result[results.ReviewUserSuccess]:
        viewer = require_viewer(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await reviews.review(
                work, viewer, bounty_id=bounty_id, rating=input.rating, text=input.text
            )

        review_id = await mutate(info, run)
        if isinstance(review_id, UserError):
            return review_id
        card = await reviews.review_by_id(info.context.reads, review_id)
        return results.ReviewUserSuccess(review=Review.from_card(card))


async def _on_application(
    info: Info,
    input: ApplicationInput,
    action: Callable[..., Awaitable[uuid.UUID]],
) -> Result[results.ApplicationSuccess]:
    viewer = require_viewer(info)
    application_id = node_uuid(
        input.application_id, "BountyApplication", field="input.applicationId"
    )

    async def run(work: UnitOfWork) -> uuid.UUID:
        return await action(work, viewer, application_id=application_id)

    return await _application_result(info, run)


__all__ = ["BountyImage", "BountyMutations"]
