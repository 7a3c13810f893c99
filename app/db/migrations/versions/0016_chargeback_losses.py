"""chargeback losses: the platform's own money a lost chargeback took, in the ledger

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01

A chargeback lost after the bounty's held funds were released or refunded takes money the
ledger no longer holds for anyone: the provider debits the platform. That part is now posted
(CHARGEBACK_LOSS: PLATFORM_LOSS -x, CLEARING +x) rather than only logged, so CLEARING matches
what the provider moved. PLATFORM_LOSS is the platform's own account and, like CLEARING, may go
below zero (its balance is minus what chargebacks cost the platform).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT_KINDS = ("WALLET", "PAYOUT_PENDING", "HELD", "FEES", "CLEARING", "REFUNDS")
POSTING_KINDS = (
    "FUNDING", "RELEASE", "REFUND", "REFUND_SETTLED", "PAYOUT", "PAYOUT_PAID", "PAYOUT_FAILED",
)  # fmt: skip


def _kinds(table: str, name: str, kinds: Sequence[str]) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"kind IN ({listed})")


def _may_go_negative(condition: str) -> None:
    op.drop_constraint(
        op.f("ck_ledger_accounts_balance_not_negative"), "ledger_accounts", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_ledger_accounts_balance_not_negative"), "ledger_accounts", condition
    )


def upgrade() -> None:
    _kinds("ledger_accounts", "ledger_account_kind", (*ACCOUNT_KINDS, "PLATFORM_LOSS"))
    _kinds("ledger_postings", "ledger_posting_kind", (*POSTING_KINDS, "CHARGEBACK_LOSS"))
    _may_go_negative("balance >= 0 OR kind IN ('CLEARING', 'PLATFORM_LOSS')")


def downgrade() -> None:
    # Refused by the constraints while chargeback losses are recorded: they cannot be undone.
    _may_go_negative("balance >= 0 OR kind = 'CLEARING'")
    _kinds("ledger_postings", "ledger_posting_kind", POSTING_KINDS)
    _kinds("ledger_accounts", "ledger_account_kind", ACCOUNT_KINDS)
