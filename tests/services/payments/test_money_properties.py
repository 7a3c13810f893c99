"""A stateful property test of the money flow (hypothesis, fixed seed): fund with good, declined
and 3-D Secure cards or the PaymentSheet, confirm by webhook (delivered twice), fail, release,
refund, dispute a bounty under way (ASSIGNED or SUBMITTED, by either party) and later resolve
it to either side or split, chargebacks won and lost (events duplicated; lost after the
release: posted as the platform's loss), a provider outage finished by reconciliation, and
payouts (requested, repeated under their key, below the minimum or beyond the wallet; paid or
failed by the bank, events duplicated). After
every step the ledger's invariants hold, each bounty holds exactly its reward while it is funded,
the card was charged exactly once for each funded or completed bounty and never for the others,
and the hunter's wallet is what was released to them less the payouts not returned, their
pending payouts what is neither paid nor returned, the bank got exactly the paid ones, and the
platform lost exactly the chargebacks lost after a release."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from app.db.engine import create_session_factory
from app.db.models import Bounty, BountyStatus, Role
from services.bounties import delivery
from services.errors import DomainError
from services.payments import charges, connect, ledger, payouts, webhooks
from services.payments.interface import payments_for
from services.payments.provider import ProviderUnavailable
from services.payments.reconcile import reconcile
from services.unit_of_work import unit_of_work
from services.viewer import Viewer
from tests.bounty_factories import insert_bounty
from tests.conftest import make_settings
from tests.factories import create_user
from tests.ledger_invariants import ledger_violations
from tests.payment_helpers import run_payment_jobs, sandbox

S = BountyStatus
REWARD = 1_999
FEE = REWARD * 1000 // 10_000
SPLIT_TO_HUNTER = 1_200  # a SPLIT's part for the hunter (before the fee); the rest is refunded
HOLDING = {S.OPEN, S.SUBMITTED, S.DISPUTED}
OUTCOMES = ("split", "refund", "release")
CHARGED = HOLDING | {S.COMPLETED}


class _Quiet:
    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        return None


class MoneyFlow(RuleBasedStateMachine):
    database_url: str = ""
    resolved: ClassVar[list[str]] = []  # the dispute outcomes reached, over all examples

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_async_engine(self.database_url)
        self.session_factory = create_session_factory(self.engine)
        self.settings = make_settings(database_url=self.database_url)
        self.payments = payments_for(self.settings)
        self.provider = sandbox(self.settings)
        self.bounties: list[uuid.UUID] = []
        self.keys = 0
        self.disputes = 0
        self.lost = 0  # chargebacks lost after the release: the platform's loss
        self.disputed: list[uuid.UUID] = []  # DISPUTED by `open_dispute`, not yet resolved
        self.paid: dict[uuid.UUID, int] = {}  # a split's net to the hunter
        self.card_keeps: dict[uuid.UUID, int] = {}  # what stays charged after splits, chargebacks
        self.requested = 0  # payouts accepted out of the wallet
        self.returned = 0  # of which failed and came back
        self.paid_out = 0  # of which the bank paid
        self.released_seen = 0  # released to the hunter, as the last invariant check found

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    @initialize()
    def people(self) -> None:
        async def make() -> None:
            poster = await create_user(self.session_factory)
            hunter = await create_user(self.session_factory)
            staff = await create_user(self.session_factory, role=Role.MODERATOR)
            self.poster_row = poster
            self.poster = Viewer(poster.id, poster.role)
            self.hunter = Viewer(hunter.id, hunter.role)
            self.staff = Viewer(staff.id, staff.role)
            made = await connect.onboarding_link(
                self.session_factory, self.hunter, payments=self.payments, settings=self.settings
            )
            self.payout_account = made.link.url.split("/")[-2]
            async with self.session_factory() as session:  # the account outlives examples
                self.lost_before = await ledger.balance(session, ledger.platform_loss("EUR"))

        self.run(make())

    def key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    async def _status(self, bounty_id: uuid.UUID) -> BountyStatus:
        async with self.session_factory() as session:
            status = await session.scalar(text("SELECT status FROM bounties WHERE id = :id"),
                                          {"id": bounty_id})  # fmt: skip
        return S(status)

    async def _settle(self) -> None:
        await run_payment_jobs(self.session_factory, self.settings)

    def pick(self, data: st.DataObject, statuses: set[BountyStatus]) -> uuid.UUID | None:
        found = [b for b in self.bounties if self.run(self._status(b)) in statuses]
        return data.draw(st.sampled_from(found)) if found else None

    @rule()
    def draft(self) -> None:
        bounty = self.run(insert_bounty(
            self.session_factory, self.poster_row, status=S.DRAFT,
            reward_amount=REWARD, reward_currency="EUR",
        ))  # fmt: skip
        self.bounties.append(bounty)

    @rule()
    def draft_and_fund_with_a_card(self) -> None:
        """A funded bounty at once (the other rules need OPEN bounties to act on)."""
        self.draft()
        self.run(charges.publish(
            self.session_factory, _Quiet(), self.poster, payments=self.payments,
            bounty_id=self.bounties[-1], key=self.key(), payment_method="pm_card_visa",
        ))  # fmt: skip
        self.run(self._settle())

    @rule(
        data=st.data(),
        card=st.sampled_from(
            [None, "pm_card_visa", "pm_card_chargeDeclined", "pm_card_authenticationRequired"]
        ),
    )
    def publish(self, data: st.DataObject, card: str | None) -> None:
        bounty = self.pick(data, {S.DRAFT})
        if bounty is None:
            return
        self.run(charges.publish(
            self.session_factory, _Quiet(), self.poster, payments=self.payments,
            bounty_id=bounty, key=self.key(), payment_method=card,
        ))  # fmt: skip
        self.run(self._settle())

    @rule(data=st.data(), card=st.sampled_from(["pm_card_visa", "pm_card_chargeDeclined"]))
    def complete_sheet_and_deliver_twice(self, data: st.DataObject, card: str) -> None:
        bounty = self.pick(data, {S.FUNDING_PENDING})
        if bounty is None:
            return
        intents = [i for i in self.provider.intents_for(str(bounty))
                   if i.status.value in ("requires_payment_method", "requires_action")]  # fmt: skip
        if not intents:
            return
        event = self.provider.complete(intents[-1].id, card)

        async def deliver() -> None:
            for _ in range(2):
                async with unit_of_work(self.session_factory, _Quiet()) as work:
                    await webhooks.receive(work, event)
            await self._settle()

        self.run(deliver())

    @rule(data=st.data())
    def publish_during_an_outage_then_reconcile(self, data: st.DataObject) -> None:
        bounty = self.pick(data, {S.DRAFT})
        if bounty is None:
            return
        real = self.provider.create_intent

        async def down(**kwargs: Any) -> Any:
            raise ProviderUnavailable("timed out")

        self.provider.create_intent = down  # type: ignore[method-assign]
        try:
            with pytest.raises(DomainError):
                self.run(charges.publish(
                    self.session_factory, _Quiet(), self.poster, payments=self.payments,
                    bounty_id=bounty, key=self.key(), payment_method="pm_card_visa",
                ))  # fmt: skip
        finally:
            self.provider.create_intent = real  # type: ignore[method-assign]
        assert self.run(self._status(bounty)) is S.FUNDING_PENDING
        self.run(reconcile(self.session_factory, _Quiet(), self.payments, older_than_seconds=0))
        self.run(self._settle())

    async def _in_work(self, action: Any) -> None:
        try:
            async with unit_of_work(self.session_factory, _Quiet()) as work:
                await action(work)
        except DomainError:
            pass
        await self._settle()

    @rule(data=st.data())
    def submit_then_approve(self, data: st.DataObject) -> None:
        bounty = self.pick(data, {S.OPEN})
        if bounty is None:
            return

        async def go() -> None:
            async with self.session_factory() as session, session.begin():
                await session.execute(
                    update(Bounty).where(col(Bounty.id) == bounty)
                    .values(status=S.SUBMITTED, hunter_id=self.hunter.user_id)
                )  # fmt: skip
            await self._in_work(
                lambda work: delivery.approve(
                    work, self.poster, payments=self.payments, bounty_id=bounty, key=self.key()
                )
            )

        self.run(go())

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        bounty = self.pick(data, {S.DRAFT, S.FUNDING_PENDING, S.OPEN})
        if bounty is None:
            return
        self.run(self._in_work(lambda work: delivery.cancel(
            work, self.poster, payments=self.payments, bounty_id=bounty, key=self.key(),
            note=None)))  # fmt: skip

    @rule(
        data=st.data(),
        stage=st.sampled_from([S.ASSIGNED, S.SUBMITTED]),
        side=st.sampled_from(["hunter", "poster"]),
    )
    def open_dispute(self, data: st.DataObject, stage: BountyStatus, side: str) -> None:
        """A party stops the work on a bounty under way (an OPEN one assigned for it, funded
        first when there is none): it stays DISPUTED, its funds held, until `resolve`."""
        bounty = self.pick(data, {S.OPEN})
        if bounty is None:
            self.draft_and_fund_with_a_card()
            bounty = self.bounties[-1]
        viewer = self.hunter if side == "hunter" else self.poster

        async def go() -> None:
            async with self.session_factory() as session, session.begin():
                await session.execute(
                    update(Bounty).where(col(Bounty.id) == bounty)
                    .values(status=stage, hunter_id=self.hunter.user_id)
                )  # fmt: skip
            await self._in_work(
                lambda work: delivery.open_dispute(
                    work, viewer, bounty_id=bounty, reason="no", key=self.key()
                )
            )

        self.run(go())
        assert self.run(self._status(bounty)) is S.DISPUTED
        self.disputed.append(bounty)

    # Resolving is drawn only while a dispute waits. A fixed seed gives few resolutions (and
    # hypothesis leaves some rules out of some examples), so a plain draw of the outcome could
    # miss SPLIT in all of them: SPLIT has a rule of its own, and `resolve` draws among the
    # outcomes the run has not reached yet while there are any.
    @precondition(lambda self: bool(self.disputed))
    @rule(data=st.data())
    def resolve_by_splitting(self, data: st.DataObject) -> None:
        self.decide(data, "split")

    @precondition(lambda self: bool(self.disputed))
    @rule(data=st.data())
    def resolve(self, data: st.DataObject) -> None:
        unreached = [o for o in OUTCOMES if o not in MoneyFlow.resolved]
        self.decide(data, data.draw(st.sampled_from(unreached or OUTCOMES)))

    def decide(self, data: st.DataObject, resolution: str) -> None:
        """A moderator decides a DISPUTED bounty: split, to the hunter, or to the poster."""
        bounty = data.draw(st.sampled_from(self.disputed))
        outcome = {
            "release": delivery.DisputeOutcome.RELEASE_TO_HUNTER,
            "refund": delivery.DisputeOutcome.REFUND_POSTER,
            "split": delivery.DisputeOutcome.SPLIT,
        }[resolution]
        split = (SPLIT_TO_HUNTER, REWARD - SPLIT_TO_HUNTER) if resolution == "split" else None

        async def go() -> BountyStatus:
            for _ in range(2):  # a repeated resolution moves nothing more
                await self._in_work(lambda work: delivery.resolve_dispute(
                    work, self.staff, payments=self.payments, bounty_id=bounty,
                    outcome=outcome, note="decided", key=self.key(), split=split))  # fmt: skip
            return await self._status(bounty)

        status = self.run(go())
        assert status is (S.CANCELLED if resolution == "refund" else S.COMPLETED), status
        self.disputed.remove(bounty)
        MoneyFlow.resolved.append(resolution)
        if split is not None:
            self.paid[bounty] = SPLIT_TO_HUNTER - SPLIT_TO_HUNTER * 1000 // 10_000
            self.card_keeps[bounty] = SPLIT_TO_HUNTER  # the rest was refunded

    @rule(
        data=st.data(),
        lost=st.booleans(),
        amount=st.sampled_from([REWARD, SPLIT_TO_HUNTER]),
        duplicated=st.booleans(),
    )
    def chargeback(self, data: st.DataObject, lost: bool, amount: int, duplicated: bool) -> None:
        """The payer's bank disputes the charge of an OPEN or COMPLETED bounty, then decides
        (lost after the release: the platform's loss)."""
        bounty = self.pick(data, {S.OPEN, S.COMPLETED})
        if bounty is None:
            return
        completed = self.run(self._status(bounty)) is S.COMPLETED
        [charge] = [i for i in self.provider.intents_for(str(bounty))
                    if i.status.value == "succeeded"]  # fmt: skip
        self.disputes += 1
        dispute = {"id": f"dp_{uuid.uuid4().hex}", "object": "dispute", "amount": amount,
                   "currency": "eur", "payment_intent": charge.id}  # fmt: skip

        def event(kind: str, status: str) -> dict[str, Any]:
            return {"id": f"evt_{uuid.uuid4().hex}", "type": f"charge.dispute.{kind}",
                    "data": {"object": {**dispute, "status": status}}}  # fmt: skip

        async def deliver() -> None:
            sequence = [
                event("created", "needs_response"),
                event("closed", "lost" if lost else "won"),
            ]
            for delivered in sequence * (2 if duplicated else 1):
                async with unit_of_work(self.session_factory, _Quiet()) as work:
                    await webhooks.receive(work, delivered)
                await self._settle()

        self.run(deliver())
        if lost and completed:
            # Released already: the bank took it from the platform (PLATFORM_LOSS), the bounty
            # stays COMPLETED and what our refunds left on the card is unchanged.
            assert self.run(self._status(bounty)) is S.COMPLETED
            self.lost += amount
        elif lost:
            # The bank took `amount` back; we refunded the rest: the card keeps nothing.
            assert self.run(self._status(bounty)) is S.CANCELLED
            self.card_keeps[bounty] = amount

    def _available(self) -> int:
        return self.released_seen - self.requested + self.returned

    @precondition(lambda self: self._available() >= 999)  # only once the hunter has money
    @rule(amount=st.sampled_from([999, 1_000, 1_799, 5_000]), repeated=st.booleans())
    def request_payout(self, amount: int, repeated: bool) -> None:
        """The hunter asks for a payout (below the minimum, within or beyond the wallet)."""
        key = self.key()

        async def ask() -> Any:
            try:
                return await payouts.request(
                    self.session_factory, _Quiet(), self.hunter, payments=self.payments,
                    settings=self.settings, amount=amount, currency="EUR", key=key,
                )  # fmt: skip
            except DomainError:
                return None

        first = self.run(ask())
        if first is not None:
            self.requested += amount
        if repeated:  # the same key and input: the stored first answer, no second payout
            assert self.run(ask()) == first

    @precondition(lambda self: self.requested > self.returned + self.paid_out)
    @rule(data=st.data(), paid=st.booleans(), duplicated=st.booleans())
    def bank_answers_a_payout(self, data: st.DataObject, paid: bool, duplicated: bool) -> None:
        account = getattr(self, "payout_account", None)
        waiting = [
            p for p in self.provider.payouts.values() if p.account_id == account and not p.final
        ]
        if not waiting:
            return
        payout = data.draw(st.sampled_from(sorted(waiting, key=lambda p: p.id)))
        event = self.provider.settle_payout(payout.id, "paid" if paid else "failed")

        async def deliver() -> None:
            for _ in range(2 if duplicated else 1):
                async with unit_of_work(self.session_factory, _Quiet()) as work:
                    await webhooks.receive(work, event)
                await self._settle()

        self.run(deliver())
        if paid:
            self.paid_out += payout.amount
        else:
            self.returned += payout.amount

    @invariant()
    def money_is_where_the_statuses_say(self) -> None:
        async def check() -> None:
            assert await ledger_violations(self.session_factory) == {}
            released = 0
            async with self.session_factory() as session:
                for bounty in self.bounties:
                    status = await self._status(bounty)
                    held = await ledger.balance(session, ledger.held(bounty, "EUR"))
                    assert held == (REWARD if status in HOLDING else 0), (status, held)
                    # What the sandbox says the card paid (charges less our refunds; a
                    # chargeback is the bank's, not a refund of ours).
                    charged = self.provider.charged(str(bounty))
                    expected = REWARD if status in CHARGED else 0
                    assert charged == self.card_keeps.get(bounty, expected), (status, charged)
                    if status is S.COMPLETED:
                        released += self.paid.get(bounty, REWARD - FEE)
                if hasattr(self, "hunter"):
                    wallet = await ledger.balance(
                        session, ledger.wallet(self.hunter.user_id, "EUR")
                    )
                    assert wallet == released - self.requested + self.returned
                    self.released_seen = released
                    pending = await ledger.balance(
                        session, ledger.payout_pending(self.hunter.user_id, "EUR")
                    )
                    assert pending == self.requested - self.returned - self.paid_out
                    assert self.provider.paid_out(self.payout_account) == self.paid_out
                    loss = await ledger.balance(session, ledger.platform_loss("EUR"))
                    assert loss == self.lost_before - self.lost

        self.run(check())


def test_money_is_never_created_lost_or_moved_twice(database_url: str) -> None:
    MoneyFlow.database_url = database_url
    run = MoneyFlow.TestCase
    run.settings = settings(
        max_examples=10, stateful_step_count=30, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    MoneyFlow.resolved.clear()
    run().runTest()
    # Every outcome was reached, SPLIT included (a change of rules or seed that stops exploring
    # one fails here rather than silently testing less).
    assert set(MoneyFlow.resolved) == set(OUTCOMES), MoneyFlow.resolved
