"""A user's money as the ledger has it: the wallet (available and pending) and the history.

History is what the ledger recorded from the user's side, newest first, one statement a page:
- as a poster, for each bounty of theirs: FUNDED (the charge, negative) and REFUNDED (positive),
  read from the bounty's HELD entries;
- as a hunter: RELEASED (the net reward into the wallet, with the platform fee beside it),
  PAYOUT (out of the wallet) and PAYOUT_RETURNED (a failed payout, back in).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import text

from app.db.engine import SessionFactory
from services.errors import InvalidInput
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.viewer import Viewer


class TransactionType(StrEnum):
    FUNDED = "FUNDED"
    REFUNDED = "REFUNDED"
    RELEASED = "RELEASED"
    PAYOUT = "PAYOUT"
    PAYOUT_RETURNED = "PAYOUT_RETURNED"


@dataclass(frozen=True, slots=True)
class WalletCard:
    currency: str
    available: int  # WALLET: released rewards, not yet paid out
    pending: int  # PAYOUT_PENDING: payouts requested, not yet paid


async def wallet(session_factory: SessionFactory, viewer: Viewer, *, currency: str) -> WalletCard:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput("an ISO 4217 currency code", field="currency")
    async with session_factory() as session:
        rows = await session.execute(
            text(
                "SELECT kind, balance FROM ledger_accounts WHERE owner_id = :user "
                "AND currency = :currency AND kind IN ('WALLET', 'PAYOUT_PENDING')"
            ),
            {"user": viewer.user_id, "currency": code},
        )
        found = {row[0]: int(row[1]) for row in rows}
    return WalletCard(code, found.get("WALLET", 0), found.get("PAYOUT_PENDING", 0))


@dataclass(frozen=True, slots=True)
class TransactionRow:
    entry_id: int
    type: TransactionType
    amount: int  # signed, from the user's side: negative leaves them
    fee: int | None  # the platform's fee taken from a release
    currency: str
    bounty_id: uuid.UUID | None
    created_at: datetime


_TYPES = {
    ("HELD", "FUNDING"): TransactionType.FUNDED,
    ("HELD", "REFUND"): TransactionType.REFUNDED,
    ("WALLET", "RELEASE"): TransactionType.RELEASED,
    ("WALLET", "PAYOUT"): TransactionType.PAYOUT,
    ("WALLET", "PAYOUT_FAILED"): TransactionType.PAYOUT_RETURNED,
}

# Poster side: a bounty's HELD entries, signed from the poster's side (funding left them).
# Hunter side: their WALLET entries. One statement; the fee only for releases.
_HISTORY = """
SELECT e.id, a.kind AS account_kind, p.kind AS posting_kind,
    CASE WHEN a.kind = 'HELD' THEN -e.amount ELSE e.amount END AS amount,
    CASE WHEN p.kind = 'RELEASE' THEN (
        SELECT sum(f.amount) FROM ledger_entries f JOIN ledger_accounts fa ON fa.id = f.account_id
        WHERE f.posting_id = p.id AND fa.kind = 'FEES') END AS fee,
    e.currency, p.bounty_id, e.created_at
FROM ledger_entries e
JOIN ledger_accounts a ON a.id = e.account_id
JOIN ledger_postings p ON p.id = e.posting_id
WHERE e.account_id IN (
    SELECT id FROM ledger_accounts WHERE owner_id = :user AND kind = 'WALLET'
    UNION ALL
    SELECT la.id FROM ledger_accounts la JOIN bounties b ON b.id = la.owner_id
    WHERE la.kind = 'HELD' AND b.poster_id = :user
)
AND ((a.kind = 'HELD' AND p.kind IN ('FUNDING', 'REFUND')) OR a.kind = 'WALLET')
AND (CAST(:after AS bigint) IS NULL OR e.id < :after)
AND (CAST(:posting_kinds AS varchar[]) IS NULL OR p.kind = ANY(:posting_kinds))
ORDER BY e.id DESC
LIMIT :limit
"""


def _posting_kinds(type_: TransactionType | None) -> list[str] | None:
    if type_ is None:
        return None
    return [posting for (_, posting), found in _TYPES.items() if found is type_]


async def transactions(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    first: int | None,
    after: str | None,
    type_: TransactionType | None = None,
) -> Page[TransactionRow]:
    size = page_size(first)
    after_id = None
    if after is not None:
        key = decode_cursor(after)
        if len(key) != 1 or not isinstance(key[0], int):
            raise InvalidInput("not a cursor this API issued", field="after")
        after_id = key[0]
    params: dict[str, Any] = {
        "user": viewer.user_id,
        "after": after_id,
        "posting_kinds": _posting_kinds(type_),
        "limit": size + 1,
    }
    async with session_factory() as session:
        rows = (await session.execute(text(_HISTORY), params)).all()
    items = [
        TransactionRow(
            entry_id=row.id,
            type=_TYPES[(row.account_kind, row.posting_kind)],
            amount=int(row.amount),
            fee=None if row.fee is None else int(row.fee),
            currency=row.currency,
            bounty_id=row.bounty_id,
            created_at=row.created_at,
        )
        for row in rows
    ]
    return Page.from_rows(
        items, size, lambda row: encode_cursor([row.entry_id]), after=after, total=None
    )
