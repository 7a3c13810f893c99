"""The double-entry ledger: the one module that writes postings, and the reads others build on.

Accounts are (kind, owner, currency); `AccountKind` says who owns each kind. A posting moves money
between accounts: its legs are signed minor units that sum to zero per currency, and its
`reference` (derived from our ids, e.g. "release:<bounty id>") makes it happen at most once.
Entries are immutable; each account's `balance` is kept by a database trigger from its entries
and may not go negative except for the provider's CLEARING account, whose balance is minus what
the platform holds for others, and PLATFORM_LOSS, minus what chargebacks took beyond the funds
the platform held (migration 0016). See migration 0010 for what the database enforces by itself.

Sign convention: a positive entry adds to what the account holds. Funding a bounty is
CLEARING -R, HELD(bounty) +R; releasing it is HELD -R, FEES +F, WALLET(hunter) +(R-F).

Reads for dashboards and reports (docs/ARCHITECTURE.md, "Ledger"): `balance`, `balances`,
`balances_by_kind`, `totals_by_kind_over_time`, `entries_page`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AccountKind, PostingKind
from services.payments.money import Money


class UnbalancedPosting(ValueError):
    """A posting whose legs do not sum to zero per currency: a bug, never user input."""


@dataclass(frozen=True, slots=True)
class Account:
    kind: AccountKind
    owner_id: uuid.UUID | None
    currency: str


def wallet(user_id: uuid.UUID, currency: str) -> Account:
    return Account(AccountKind.WALLET, user_id, currency)


def payout_pending(user_id: uuid.UUID, currency: str) -> Account:
    return Account(AccountKind.PAYOUT_PENDING, user_id, currency)


def held(bounty_id: uuid.UUID, currency: str) -> Account:
    return Account(AccountKind.HELD, bounty_id, currency)


def fees(currency: str) -> Account:
    return Account(AccountKind.FEES, None, currency)


def clearing(currency: str) -> Account:
    return Account(AccountKind.CLEARING, None, currency)


def refunds(currency: str) -> Account:
    return Account(AccountKind.REFUNDS, None, currency)


def platform_loss(currency: str) -> Account:
    """The platform's own money lost to chargebacks beyond the funds it held (negative)."""
    return Account(AccountKind.PLATFORM_LOSS, None, currency)


@dataclass(frozen=True, slots=True)
class Leg:
    account: Account
    amount: int  # signed minor units in the account's currency


def transfer(source: Account, target: Account, money: Money) -> list[Leg]:
    """Two legs moving `money` from `source` to `target`."""
    return [Leg(source, -money.amount), Leg(target, money.amount)]


def check_balanced(legs: Sequence[Leg]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool) or leg.amount == 0:
            raise UnbalancedPosting(f"a leg must be a non-zero integer, not {leg.amount!r}")
        totals[leg.account.currency] += leg.amount
    if not legs or any(totals.values()):
        raise UnbalancedPosting(f"legs must sum to zero per currency: {dict(totals)}")


_ACCOUNT_IDS = """
WITH wanted(kind, owner_id, currency) AS (SELECT * FROM unnest(
    CAST(:kinds AS varchar[]), CAST(:owners AS uuid[]), CAST(:currencies AS varchar[])
)),
made AS (
    INSERT INTO ledger_accounts (kind, owner_id, currency) SELECT * FROM wanted
    ON CONFLICT DO NOTHING RETURNING id, kind, owner_id, currency
)
SELECT id, kind, owner_id, currency FROM made
UNION ALL
SELECT a.id, a.kind, a.owner_id, a.currency FROM ledger_accounts a JOIN wanted w
    ON a.kind = w.kind AND a.owner_id IS NOT DISTINCT FROM w.owner_id AND a.currency = w.currency
"""


async def account_ids(
    session: AsyncSession, accounts: Iterable[Account]
) -> dict[Account, uuid.UUID]:
    """Each account's id, opening the missing ones (one statement; a second only when another
    transaction opened one of them concurrently)."""
    wanted = list(dict.fromkeys(accounts))
    found: dict[Account, uuid.UUID] = {}
    for _ in range(3):
        missing = [a for a in wanted if a not in found]
        if not missing:
            break
        rows = await session.execute(
            text(_ACCOUNT_IDS),
            {
                "kinds": [a.kind.value for a in missing],
                "owners": [a.owner_id for a in missing],
                "currencies": [a.currency for a in missing],
            },
        )
        for row in rows:
            found[Account(AccountKind(row.kind), row.owner_id, row.currency)] = row.id
    if len(found) < len(wanted):
        raise RuntimeError("ledger accounts could not be opened")
    return found


_POST = """
WITH posting AS (
    INSERT INTO ledger_postings (kind, reference, bounty_id) VALUES (:kind, :reference, :bounty)
    ON CONFLICT (reference) DO NOTHING RETURNING id
), entries AS (
    INSERT INTO ledger_entries (posting_id, account_id, amount, currency)
    SELECT posting.id, leg.account_id, leg.amount, leg.currency FROM posting, unnest(
        CAST(:accounts AS uuid[]), CAST(:amounts AS bigint[]), CAST(:currencies AS varchar[])
    ) AS leg(account_id, amount, currency)
    RETURNING 1
)
SELECT id FROM posting
"""


async def post(
    session: AsyncSession,
    *,
    kind: PostingKind,
    reference: str,
    legs: Sequence[Leg],
    bounty_id: uuid.UUID | None = None,
) -> int | None:
    """Write one balanced posting unless `reference` was posted before: its id, or None.

    Two statements (accounts, then posting and entries together). Raises `UnbalancedPosting`
    before writing; the database refuses a leg that would take a non-CLEARING account below zero
    (IntegrityError, check violation), and, at commit, any posting that does not sum to zero.
    """
    check_balanced(legs)
    ids = await account_ids(session, (leg.account for leg in legs))
    posting_id: int | None = await session.scalar(
        text(_POST),
        {
            "kind": kind.value,
            "reference": reference,
            "bounty": bounty_id,
            "accounts": [ids[leg.account] for leg in legs],
            "amounts": [leg.amount for leg in legs],
            "currencies": [leg.account.currency for leg in legs],
        },
    )
    return posting_id


_BALANCE_OWNED = (
    "SELECT balance FROM ledger_accounts "
    "WHERE kind = :kind AND owner_id = :owner AND currency = :currency"
)
_BALANCE_UNOWNED = (
    "SELECT balance FROM ledger_accounts "
    "WHERE kind = :kind AND owner_id IS NULL AND currency = :currency"
)
_BALANCES = """
SELECT kind, owner_id, currency, balance FROM ledger_accounts WHERE (kind, owner_id, currency)
    IN (SELECT * FROM unnest(
        CAST(:kinds AS varchar[]), CAST(:owners AS uuid[]), CAST(:currencies AS varchar[])))
"""


async def balance(session: AsyncSession, account: Account) -> int:
    """The account's balance in minor units (0 for one never used): one indexed statement."""
    value = await session.scalar(
        text(_BALANCE_UNOWNED if account.owner_id is None else _BALANCE_OWNED),
        {"kind": account.kind.value, "owner": account.owner_id, "currency": account.currency},
    )
    return int(value or 0)


async def balances(session: AsyncSession, accounts: Sequence[Account]) -> dict[Account, int]:
    """Several owned accounts' balances in one statement (0 for those never used). Accounts
    without an owner (FEES, CLEARING, REFUNDS): use `balance`."""
    result = dict.fromkeys(accounts, 0)
    rows = await session.execute(
        text(_BALANCES),
        {
            "kinds": [a.kind.value for a in accounts],
            "owners": [a.owner_id for a in accounts],
            "currencies": [a.currency for a in accounts],
        },
    )
    for row in rows:
        result[Account(AccountKind(row.kind), row.owner_id, row.currency)] = int(row.balance)
    return result


async def balances_by_kind(session: AsyncSession, *, currency: str) -> dict[AccountKind, int]:
    """The sum of every account's balance per kind, now (the totals sum to zero)."""
    rows = await session.execute(
        text("SELECT kind, sum(balance) FROM ledger_accounts WHERE currency = :c GROUP BY kind"),
        {"c": currency},
    )
    totals = dict.fromkeys(AccountKind, 0)
    for row in rows:
        totals[AccountKind(row[0])] = int(row[1])
    return totals


async def totals_by_kind_over_time(
    session: AsyncSession,
    *,
    currency: str,
    since: datetime,
    until: datetime,
    bucket: timedelta,
) -> list[tuple[datetime, AccountKind, int]]:
    """Net change per account kind per time bucket in [since, until): (bucket start, kind,
    sum of entries), oldest first; buckets without entries are left out."""
    rows = await session.execute(
        text(
            "SELECT date_bin(:bucket, e.created_at, :since) AS at, a.kind, sum(e.amount) "
            "FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id "
            "WHERE e.currency = :currency AND e.created_at >= :since AND e.created_at < :until "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"bucket": bucket, "since": since, "until": until, "currency": currency},
    )
    return [(row[0], AccountKind(row[1]), int(row[2])) for row in rows]


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    posting_kind: str
    reference: str
    bounty_id: uuid.UUID | None
    amount: int
    currency: str
    created_at: datetime


async def entries_page(
    session: AsyncSession,
    accounts: Sequence[Account],
    *,
    first: int,
    after: int | None = None,
    posting_kinds: Sequence[str] | None = None,
) -> list[EntryRow]:
    """Entries of `accounts`, newest first, `first` of them after entry id `after`: one
    statement (a user's transaction history is their WALLET and PAYOUT_PENDING entries)."""
    params: dict[str, Any] = {
        "kinds": [a.kind.value for a in accounts],
        "owners": [a.owner_id for a in accounts],
        "currencies": [a.currency for a in accounts],
        "first": first,
        "after": after,
        "posting_kinds": list(posting_kinds) if posting_kinds else None,
    }
    rows = await session.execute(
        text(
            "SELECT e.id, p.kind, p.reference, p.bounty_id, e.amount, e.currency, e.created_at "
            "FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id "
            "WHERE e.account_id IN (SELECT id FROM ledger_accounts WHERE (kind, owner_id, "
            "currency) IN (SELECT * FROM unnest(CAST(:kinds AS varchar[]), "
            "CAST(:owners AS uuid[]), CAST(:currencies AS varchar[])))) "
            "AND (CAST(:after AS bigint) IS NULL OR e.id < :after) "
            "AND (CAST(:posting_kinds AS varchar[]) IS NULL OR p.kind = ANY(:posting_kinds)) "
            "ORDER BY e.id DESC LIMIT :first"
        ),
        params,
    )
    return [EntryRow(*row) for row in rows]
