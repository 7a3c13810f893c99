"""Payments: a double-entry ledger, the bounty money flow, and the payment providers.

money       Money (integer minor units + ISO currency) and fee arithmetic
ledger      accounts, balanced immutable postings, balances and the reads dashboards use
held_funds  a bounty's money in the ledger: funding, release with the fee, refund
operations  provider calls as rows: recorded before, answered after (recovery points)
provider    the interface every provider implements (PaymentIntents, refunds, customers)
sandbox     the in-memory stand-in (development default; production refuses it unless allowed)
stripe_provider  Stripe over its official SDK's async client
interface   `payments_for(settings)`: the configured provider and platform fee
charges     publishing: FUNDING_PENDING -> PaymentIntent -> OPEN (or back to DRAFT), in phases
releases    approving: HELD -> FEES + the hunter's WALLET, in the completing transaction
refunds     cancel, expiry, disputes: HELD -> REFUNDS -> the provider's refund, in phases
webhooks    provider events: verified, stored once by id, applied once by a job
signatures  Stripe's webhook signature scheme, checked on the raw body
wallets     a user's wallet and transaction history, read from the ledger
reconcile   re-drives operations a crash or an outage left between phases
customers   a user's customer at the provider, made once
payment_methods  saved cards: SetupIntents, the list, the default, removal, fingerprints
fees        the platform fee in force (the system setting, else PLATFORM_FEE_BPS)
freezes     held funds frozen while the payer's bank disputes the charge
disputes    a moderator's split of the held funds; chargebacks (charge.dispute.*)
funding_timeouts  cancels charges the payer never finished (FUNDING_TIMEOUT_MINUTES)
connect     payout accounts (Stripe Connect Express): onboarding links, status from the provider
connect_provider  what a provider does for payouts (accounts, transfers, payouts)
sandbox_connect   the sandbox's Connect part
payouts     requestPayout: WALLET -> PAYOUT_PENDING -> transfer and payout, in phases
payout_answers    requestPayout's answer, stored under its idempotency key
payout_events     Connect webhooks: account.updated, transfer.*, payout.*
"""

from services.payments.interface import Payments, payments_for
from services.payments.money import Money

__all__ = ["Money", "Payments", "payments_for"]
