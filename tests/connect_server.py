"""A small local HTTP server answering Stripe's Connect endpoints, which localstripe lacks.

It answers as Stripe documents: `POST /v1/accounts` (Express accounts, requirements due until
onboarded), `GET /v1/accounts/{id}`, `POST /v1/account_links`, `POST /v1/transfers` (to an
account that can take transfers; a refusal is Stripe's 400 `invalid_request_error`),
`GET /v1/transfers/{id}`, `POST /v1/transfers/{id}/reversals`, `POST /v1/payouts` and
`GET /v1/payouts/{id}` on the connected account named by the `Stripe-Account` header (a payout
above that account's balance is refused). A repeated `Idempotency-Key` answers the first response.
Test controls play the parts Stripe plays on its own: `POST /_connect/accounts/{id}/onboard`
and `.../restrict`, `POST /_connect/payouts/{id}` with `status=paid|failed`.

`install(app)` adds it to another aiohttp app (the localstripe launcher does, so one base URL
serves cards and Connect); `connect_server()` runs it alone on a free loopback port.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

from tests.local_servers import launched

DUE = ["external_account", "tos_acceptance.date", "individual.verification.document"]


def _form(items: Any) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[a]=1`, `capabilities[transfers][requested]=true`)."""
    found: dict[str, Any] = {}
    for raw_key, value in items:
        parts = raw_key.replace("]", "").split("[")
        target = found
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return found


class ConnectState:
    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        self.payouts: dict[str, dict[str, Any]] = {}
        self.balances: dict[tuple[str, str], int] = {}
        self.responses: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Stripe-Account

    @staticmethod
    def new_id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}"

    def account(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        account_id = self.new_id("acct")
        self.accounts[account_id] = {
            "id": account_id, "object": "account", "type": form.get("type", "express"),
            "email": form.get("email"), "country": form.get("country", "US"),
            "charges_enabled": False, "payouts_enabled": False, "details_submitted": False,
            "capabilities": {"transfers": "inactive"},
            "requirements": {"currently_due": list(DUE), "eventually_due": list(DUE),
                             "past_due": [], "disabled_reason": "requirements.past_due"},
            "metadata": form.get("metadata", {}), "created": int(time.time()),
        }  # fmt: skip
        return 200, self.accounts[account_id]

    def onboard(self, account_id: str) -> dict[str, Any]:
        account = self.accounts[account_id]
        account.update(
            charges_enabled=True, payouts_enabled=True, details_submitted=True,
            capabilities={"transfers": "active"},
            requirements={"currently_due": [], "eventually_due": [], "past_due": [],
                          "disabled_reason": None},
        )  # fmt: skip
        return account

    def restrict(self, account_id: str) -> dict[str, Any]:
        account = self.accounts[account_id]
        due = ["individual.verification.document"]
        account.update(
            payouts_enabled=False, details_submitted=True, capabilities={"transfers": "inactive"},
            requirements={"currently_due": due, "eventually_due": due, "past_due": due,
                          "disabled_reason": "requirements.past_due"},
        )  # fmt: skip
        return account

    def transfer(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        destination = form.get("destination", "")
        account = self.accounts.get(destination)
        if account is None:
            return _error(400, f"No such destination: '{destination}'", "resource_missing")
        if account["capabilities"].get("transfers") != "active":
            return _error(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                "insufficient_capabilities_for_transfer",
            )
        amount, currency = int(form["amount"]), str(form["currency"]).lower()
        transfer_id = self.new_id("tr")
        self.transfers[transfer_id] = {
            "id": transfer_id, "object": "transfer", "amount": amount, "currency": currency,
            "destination": destination, "transfer_group": form.get("transfer_group"),
            "amount_reversed": 0, "reversed": False, "metadata": form.get("metadata", {}),
            "created": int(time.time()),
        }  # fmt: skip
        self._move(destination, currency, amount)
        return 200, self.transfers[transfer_id]

    def reverse(self, transfer_id: str) -> tuple[int, dict[str, Any]]:
        transfer = self.transfers.get(transfer_id)
        if transfer is None:
            return _error(404, f"No such transfer: '{transfer_id}'", "resource_missing")
        left = transfer["amount"] - transfer["amount_reversed"]
        if left <= 0:
            return _error(400, "This transfer is already fully reversed.", "transfer_reversed")
        self._move(transfer["destination"], transfer["currency"], -left)
        transfer.update(amount_reversed=transfer["amount"], reversed=True)
        reversal = {"id": self.new_id("trr"), "object": "transfer_reversal", "amount": left,
                    "currency": transfer["currency"], "transfer": transfer_id}  # fmt: skip
        return 200, reversal

    def payout(self, account_id: str | None, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if account_id is None or account_id not in self.accounts:
            return _error(400, "Payouts to bank accounts need a connected account.", None)
        amount, currency = int(form["amount"]), str(form["currency"]).lower()
        if self.balances.get((account_id, currency), 0) < amount:
            return _error(
                400,
                "You have insufficient funds in your Stripe account for this transfer.",
                "balance_insufficient",
            )
        payout_id = self.new_id("po")
        self.payouts[payout_id] = {
            "id": payout_id, "object": "payout", "amount": amount, "currency": currency,
            "status": "pending", "arrival_date": int(time.time()) + 86_400, "account": account_id,
            "metadata": form.get("metadata", {}), "failure_code": None, "failure_message": None,
        }  # fmt: skip
        self._move(account_id, currency, -amount)
        return 200, self._shown(self.payouts[payout_id])

    def settle(self, payout_id: str, status: str) -> dict[str, Any]:
        payout = self.payouts[payout_id]
        if payout["status"] in ("pending", "in_transit"):
            payout["status"] = status
            if status == "failed":
                payout.update(failure_code="account_closed",
                              failure_message="The bank account has been closed.")  # fmt: skip
                self._move(payout["account"], payout["currency"], payout["amount"])
        return self._shown(payout)

    @staticmethod
    def _shown(payout: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in payout.items() if k != "account"}

    def _move(self, account_id: str, currency: str, amount: int) -> None:
        key = (account_id, currency)
        self.balances[key] = self.balances.get(key, 0) + amount


def _error(status: int, message: str, code: str | None) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": "invalid_request_error", "message": message, "code": code}}


def install(app: Any) -> ConnectState:
    """Answer the Connect endpoints in an aiohttp `app` (before its own routes)."""
    from aiohttp import web

    state = ConnectState()

    def answer(status: int, body: dict[str, Any]) -> web.Response:
        return web.json_response(body, status=status)

    def missing(kind: str, object_id: str) -> web.Response:
        return answer(*_error(404, f"No such {kind}: '{object_id}'", "resource_missing"))

    async def route(request: web.Request) -> web.Response | None:
        path, method = request.path, request.method
        parts = path.strip("/").split("/")
        account = request.headers.get("Stripe-Account")
        if parts[0] == "_connect" and method == "POST":
            form = _form((await request.post()).items())
            if parts[1] == "accounts" and parts[3] == "onboard":
                return answer(200, state.onboard(parts[2]))
            if parts[1] == "accounts" and parts[3] == "restrict":
                return answer(200, state.restrict(parts[2]))
            if parts[1] == "payouts":
                return answer(200, state.settle(parts[2], str(form.get("status", "paid"))))
            return None
        if parts[0] != "v1" or len(parts) < 2:
            return None
        if parts[1] not in ("accounts", "account_links", "transfers", "payouts"):
            return None
        if not request.headers.get("Authorization", "").startswith(("Bearer sk_", "Basic ")):
            refusal = {"type": "invalid_request_error", "message": "No API key provided."}
            return answer(401, {"error": refusal})
        state.requests.append((method, path, account))
        if method == "GET":
            store = {"accounts": state.accounts, "transfers": state.transfers,
                     "payouts": state.payouts}.get(parts[1])  # fmt: skip
            if store is None or len(parts) != 3:
                return None
            found = store.get(parts[2])
            if found is None or (parts[1] == "payouts" and found["account"] != account):
                return missing(parts[1][:-1], parts[2])
            return answer(200, state._shown(found) if parts[1] == "payouts" else found)
        if method != "POST":
            return None
        key = request.headers.get("Idempotency-Key")
        remembered = (path, account or "", key) if key else None
        if remembered is not None and remembered in state.responses:
            return answer(*state.responses[remembered])
        form = _form((await request.post()).items())
        if parts[1] == "accounts" and len(parts) == 2:
            result = state.account(form)
        elif parts[1] == "account_links":
            if form.get("account") not in state.accounts:
                return missing("account", str(form.get("account")))
            now = int(time.time())
            result = 200, {"object": "account_link", "created": now, "expires_at": now + 300,
                           "url": f"https://connect.stripe.com/setup/e/{form['account']}/"
                                  f"{secrets.token_hex(8)}"}  # fmt: skip
        elif parts[1] == "transfers" and len(parts) == 2:
            result = state.transfer(form)
        elif parts[1] == "transfers" and len(parts) == 4 and parts[3] == "reversals":
            result = state.reverse(parts[2])
        elif parts[1] == "payouts" and len(parts) == 2:
            result = state.payout(account, form)
        else:
            return None
        if remembered is not None and result[0] < 500:
            state.responses[remembered] = result
        return answer(*result)

    @web.middleware
    async def connect_first(request: web.Request, handler: Any) -> web.StreamResponse:
        answered = await route(request)
        return answered if answered is not None else await handler(request)

    app.middlewares.insert(0, connect_first)
    return state


STANDALONE = r"""
import sys
from aiohttp import web
from tests.connect_server import install

app = web.Application()
install(app)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@contextlib.contextmanager
def connect_server() -> Iterator[str]:
    """Run the Connect server alone; its base URL until the block ends."""
    with launched(STANDALONE, "/v1/accounts/none", "the Connect server") as url:
        yield url
