"""The ledger's invariants, checked after every payments test (`assert_ledger_invariants`)."""

from __future__ import annotations

from sqlalchemy import text

from app.db.engine import SessionFactory

_CHECKS = {
    # Every posting sums to zero in each currency.
    "unbalanced postings": """
        SELECT posting_id, currency, sum(amount) FROM ledger_entries
        GROUP BY posting_id, currency HAVING sum(amount) <> 0""",
    # Every posting has entries.
    "empty postings": """
        SELECT p.id FROM ledger_postings p
        WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.posting_id = p.id)""",
    # Each account's running balance is the sum of its entries.
    "balances that differ from their entries": """
        SELECT a.id, a.kind, a.balance, coalesce(sum(e.amount), 0) FROM ledger_accounts a
        LEFT JOIN ledger_entries e ON e.account_id = a.id
        GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0)""",
    # Nothing but the provider's clearing account and the platform's chargeback losses is ever
    # below zero.
    "negative accounts": """
        SELECT id, kind, balance FROM ledger_accounts
        WHERE balance < 0 AND kind NOT IN ('CLEARING', 'PLATFORM_LOSS')""",
    # The platform loses only to lost chargebacks, never more than the bank took.
    "platform losses other than lost chargebacks": """
        SELECT p.id, p.kind FROM ledger_postings p
        JOIN ledger_entries e ON e.posting_id = p.id
        JOIN ledger_accounts a ON a.id = e.account_id
        WHERE a.kind = 'PLATFORM_LOSS' AND (p.kind <> 'CHARGEBACK_LOSS' OR e.amount > 0)""",
    # Money is neither created nor destroyed: all balances of a currency sum to zero.
    "currencies that do not sum to zero": """
        SELECT currency, sum(balance) FROM ledger_accounts GROUP BY currency
        HAVING sum(balance) <> 0""",
    # A bounty holds what was funded less what was released and refunded.
    "held funds that differ from funded - released - refunded": """
        SELECT a.owner_id, a.balance, f.total FROM ledger_accounts a
        JOIN LATERAL (
            SELECT coalesce(sum(e.amount), 0) AS total
            FROM ledger_postings p JOIN ledger_entries e ON e.posting_id = p.id
            WHERE p.bounty_id = a.owner_id AND e.account_id = a.id
                AND p.kind IN ('FUNDING', 'RELEASE', 'REFUND', 'PAYOUT')
        ) f ON true
        WHERE a.kind = 'HELD' AND a.balance <> f.total""",
    # A bounty is released at most once.
    "bounties released twice": """
        SELECT bounty_id FROM ledger_postings WHERE kind = 'RELEASE'
        GROUP BY bounty_id HAVING count(*) > 1""",
}


async def ledger_violations(session_factory: SessionFactory) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = {}
    async with session_factory() as session:
        for name, query in _CHECKS.items():
            rows = [tuple(row) for row in await session.execute(text(query))]
            if rows:
                found[name] = rows
    return found


async def assert_ledger_invariants(session_factory: SessionFactory) -> None:
    violations = await ledger_violations(session_factory)
    assert violations == {}, violations
