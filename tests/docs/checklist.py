"""docs/CLIENT.md's testing checklist as code: the documents of clients/operations/ (and the
staff documents step 8 pastes), in the checklist's order, as the demo accounts, with the
outcomes the guide promises. `tests/docs/test_client_checklist.py` runs it against the seeded
demo data through the ASGI app; `python -m tests.docs.checklist URL` runs it against a gateway
started with `python3 dev.py run` (a fresh `var/`: it changes the demo data as GraphiQL would).
The guide's second browser tab is a graphql-transport-ws socket (`Checklist.tab`), signed in as
GraphiQL signs its socket in, so the subscription documents run too."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "clients" / "operations"
GUIDE = ROOT / "docs" / "CLIENT.md"
PASSWORD = "bountyexpo-demo-2026"  # the README's and the guide's
Upload = tuple[str, bytes, str]  # filename, content, content type
# (query, variables, bearer token, files by variable name: sent as a multipart request)
Send = Callable[[str, dict[str, Any], str | None, dict[str, Upload]], Awaitable[dict[str, Any]]]


# A WebSocket to /graphql speaking graphql-transport-ws (httpx-ws's session).
OpenSocket = Callable[[], AbstractAsyncContextManager[Any]]
USED: set[str] = set()


def document(name: str) -> str:
    (path,) = OPERATIONS.glob(f"*/{name}.graphql")
    USED.add(name)
    return path.read_text()


def png(width: int = 64, height: int = 48) -> Upload:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG")
    return ("photo.png", buffer.getvalue(), "image/png")


def multipart(query: str, variables: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
    """httpx's `data` and `files` for the GraphQL multipart request spec (what `curl -F` sends)."""
    operations = {"query": query, "variables": {**variables, **dict.fromkeys(files)}}
    names = list(files)
    mapping = {str(i): [f"variables.{name}"] for i, name in enumerate(names)}
    return {
        "data": {"operations": json.dumps(operations), "map": json.dumps(mapping)},
        "files": {str(i): files[name] for i, name in enumerate(names)},
    }


def staff_documents() -> list[str]:
    """The documents step 8 of the checklist pastes into GraphiQL, in order."""
    text = GUIDE.read_text()
    start = text.index("**8. Moderation and admin**")
    end = text.find("\n## ", start)
    return re.findall(r"`((?:mutation )?\{ .+? \})`", text[start:end])


def fill(staff: str, **values: str) -> str:
    for name, value in values.items():
        staff = staff.replace(f"<{name}>", value)
    assert "<" not in staff, staff
    return staff


class Tab:
    """The guide's other browser tab: GraphiQL's socket, signed in, with its subscriptions."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.ids = itertools.count(1)

    async def subscribe(self, name: str, variables: dict[str, Any]) -> str:
        operation = str(next(self.ids))
        payload = {"query": document(name), "variables": variables}
        await self.ws.send_json({"type": "subscribe", "id": operation, "payload": payload})
        return operation

    async def _receive(self, within: float) -> dict[str, Any] | None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while True:
                    message: dict[str, Any] = await self.ws.receive_json()
                    if message.get("type") == "ping":
                        await self.ws.send_json({"type": "pong"})
                    elif message.get("type") != "pong":
                        return message
        return None

    async def until(
        self,
        operation: str,
        check: Callable[[Any], bool],
        trigger: Callable[[int], Awaitable[None]] | None = None,
        *,
        attempts: int = 20,
        within: float = 0.5,
    ) -> Any:
        """The first event of `operation` that passes `check`, running `trigger` (the other
        tab's action) again while none arrives: a live-only subscription hears nothing sent
        before the gateway registered it, and graphql-transport-ws does not say when that is."""
        loop = asyncio.get_running_loop()
        for attempt in range(attempts):
            if trigger is not None:
                await trigger(attempt)
            end = loop.time() + within
            while True:
                while self.events[operation]:
                    event = self.events[operation].pop(0)
                    if check(event):
                        return event
                left = end - loop.time()
                message = await self._receive(left) if left > 0 else None
                if message is None:
                    break
                assert message.get("type") == "next", message
                assert "errors" not in message["payload"], message
                self.events[message["id"]].append(message["payload"]["data"])
        raise AssertionError(f"no such event on subscription {operation}: {self.events}")


class Checklist:
    """Sends documents as GraphiQL would: a POST with the headers editor's bearer token."""

    def __init__(self, send: Send, open_socket: OpenSocket, reuse_grace_seconds: float = 0) -> None:
        self.send = send
        self.open_socket = open_socket
        self.reuse_grace_seconds = reuse_grace_seconds
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.staff = staff_documents()

    async def raw(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        as_: str | None = None,
        files: dict[str, Upload] | None = None,
    ) -> dict[str, Any]:
        token = self.tokens[as_] if as_ else None
        return await self.send(query, variables or {}, token, files or {})

    async def op(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        as_: str | None = None,
        files: dict[str, Upload] | None = None,
    ) -> Any:
        """Run a document of clients/operations/; its data's one root field."""
        body = await self.raw(document(name), variables, as_, files)
        assert "errors" not in body, (name, body)
        (value,) = body["data"].values()
        return value

    @contextlib.asynccontextmanager
    async def tab(self, who: str) -> AsyncIterator[Tab]:
        """A second tab signed in as `who`: the headers editor's token in connection_init."""
        async with self.open_socket() as ws:
            payload = {"authorization": f"Bearer {self.tokens[who]}"}
            await ws.send_json({"type": "connection_init", "payload": payload})
            assert (await ws.receive_json())["type"] == "connection_ack"
            yield Tab(ws)

    async def after_reuse_grace(self) -> None:
        if self.reuse_grace_seconds:
            await asyncio.sleep(self.reuse_grace_seconds + 0.5)

    async def eventually(
        self,
        name: str,
        variables: dict[str, Any] | None,
        as_: str,
        check: Callable[[Any], bool],
        within: float = 15,
    ) -> Any:
        """`name`'s answer once `check` holds: notifications are made by a worker job."""
        deadline = asyncio.get_running_loop().time() + within
        while not check(answer := await self.op(name, variables, as_)):
            assert asyncio.get_running_loop().time() < deadline, (name, answer)
            await asyncio.sleep(0.1)
        return answer

    async def paste(self, index: int, as_: str, **values: str) -> dict[str, Any]:
        return await self.raw(fill(self.staff[index], **values), None, as_)

    async def sign_in(self, who: str) -> dict[str, Any]:
        email = f"{who}@demo.bountyexpo.dev"
        result = await self.op("SignIn", {"input": {"email": email, "password": PASSWORD}})
        assert result["__typename"] == "SignInSuccess", result
        self.tokens[who] = result["session"]["accessToken"]
        self.ids[who] = result["user"]["id"]
        return dict(result)


def code_of(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or [{}]
    code = errors[0].get("extensions", {}).get("code")
    return str(code) if code is not None else None


def key() -> str:
    return str(uuid.uuid4())


async def authentication(c: Checklist) -> None:
    email = f"newcomer-{uuid.uuid4().hex[:8]}@example.com"
    signup = {
        "input": {
            "email": email,
            "password": "a long demo passphrase",
            "displayName": "New",
            "idempotencyKey": key(),
        }
    }
    first = await c.op("SignUp", signup)
    again = await c.op("SignUp", signup)
    assert first["__typename"] == again["__typename"] == "SignUpSuccess", (first, again)
    assert first["user"]["id"] == again["user"]["id"]
    c.tokens["new"] = again["session"]["accessToken"]
    out = await c.op("SignOut", {"refreshToken": again["session"]["refreshToken"]}, "new")
    assert out["__typename"] == "SignOutSuccess", out
    assert code_of(await c.raw(document("Viewer"), None, "new")) == "UNAUTHENTICATED"
    signed = await c.sign_in("hunter")
    refreshed = await c.op("RefreshSession", {"refreshToken": signed["session"]["refreshToken"]})
    assert refreshed["__typename"] == "RefreshSessionSuccess", refreshed
    c.tokens["hunter"] = refreshed["session"]["accessToken"]
    await c.after_reuse_grace()  # within REFRESH_REUSE_GRACE_SECONDS a reuse gets a sibling
    stale = await c.op("RefreshSession", {"refreshToken": signed["session"]["refreshToken"]})
    assert stale["code"] == "INVALID_REFRESH_TOKEN", stale
    # A rotated token presented again means it leaked: the whole session ends, new pair too.
    assert code_of(await c.raw(document("Viewer"), None, "hunter")) == "UNAUTHENTICATED"
    await c.sign_in("hunter")
    for who in ("poster", "carla", "moderator", "admin"):
        await c.sign_in(who)


async def profile(c: Checklist) -> None:
    viewer = await c.op("Viewer", None, "hunter")
    assert (viewer["email"], viewer["status"]) == ("hunter@demo.bountyexpo.dev", "ACTIVE")
    updated = await c.op(
        "UpdateProfile", {"input": {"bio": "Handy.", "skills": ["plumbing"]}}, "hunter"
    )
    assert updated["__typename"] == "UpdateProfileSuccess", updated
    avatar = await c.op("UploadAvatar", None, "hunter", {"file": png()})
    assert avatar["user"]["avatarUrl"].startswith("http"), avatar
    other = await c.op("Profile", {"id": c.ids["poster"]}, "hunter")
    assert other["displayName"] == "Priya Poster"


async def bounty_creation(c: Checklist) -> None:
    categories = await c.op("BountyCategories", None, "poster")
    assert "handyman" in categories
    created = await c.op(
        "CreateBounty",
        {
            "input": {
                "title": "Hang three shelves",
                "description": "Drill, plugs and a level are here.",
                "category": "handyman",
                "reward": {"amount": 3000, "currency": "EUR"},
                "remote": False,
                "idempotencyKey": key(),
            }
        },
        "poster",
    )
    assert created["bounty"]["status"] == "DRAFT", created
    bounty_id = c.ids["new bounty"] = created["bounty"]["id"]
    updated = await c.op(
        "UpdateBounty", {"input": {"bountyId": bounty_id, "title": "Hang four shelves"}}, "poster"
    )
    assert updated["bounty"]["title"] == "Hang four shelves", updated
    image = await c.op("AddBountyImage", {"bountyId": bounty_id}, "poster", {"file": png()})
    assert image["image"]["width"] == 64, image
    removed = await c.op("RemoveBountyImage", {"imageId": image["image"]["id"]}, "poster")
    assert removed["__typename"] == "BountyImageSuccess", removed
    cards = await c.op("PaymentMethods", None, "poster")
    publish = {
        "input": {"bountyId": bounty_id, "idempotencyKey": key(), "paymentMethodId": cards[0]["id"]}
    }
    first = await c.op("PublishBounty", publish, "poster")
    again = await c.op("PublishBounty", publish, "poster")
    assert first["bounty"]["status"] == "OPEN", first
    assert first == again
    mine = await c.op("MyBounties", None, "poster")
    assert bounty_id in [edge["node"]["id"] for edge in mine["edges"]]
    async with c.tab("hunter") as tab:
        watched = await tab.subscribe("BountyUpdated", {"id": bounty_id})

        async def edit(attempt: int) -> None:
            change = {
                "bountyId": bounty_id,
                "description": f"Drill, plugs and a level ({attempt}).",
            }
            edited = await c.op("UpdateBounty", {"input": change}, "poster")
            assert edited["__typename"] == "BountySuccess", edited

        event = await tab.until(
            watched, lambda e: e["bountyUpdated"]["bounty"]["id"] == bounty_id, edit
        )
        assert event["bountyUpdated"]["bounty"]["status"] == "OPEN", event  # an edit: no status
    # Without a saved card: the PaymentSheet's parameters, the bounty waiting for the sheet.
    draft = await c.op(
        "CreateBounty",
        {
            "input": {
                "title": "Water the plants",
                "description": "Twice a week while I am away.",
                "category": "other",
                "reward": {"amount": 2000, "currency": "EUR"},
            }
        },
        "poster",
    )
    sheet = await c.op(
        "PublishBounty",
        {"input": {"bountyId": draft["bounty"]["id"], "idempotencyKey": key()}},
        "poster",
    )
    assert sheet["payment"]["status"] == "REQUIRES_ACTION", sheet
    assert sheet["payment"]["clientSecret"], sheet
    assert sheet["bounty"]["status"] == "FUNDING_PENDING", sheet


async def applications(c: Checklist) -> None:
    listed = await c.op("Bounties", {"filter": {"category": "handyman"}}, "hunter")
    ids = [edge["node"]["id"] for edge in listed["edges"]]
    bounty_id = c.ids["new bounty"]
    assert bounty_id in ids, listed
    shown = await c.op("Bounty", {"id": bounty_id}, "hunter")
    assert shown["status"] == "OPEN"
    applied = await c.op(
        "ApplyToBounty",
        {"input": {"bountyId": bounty_id, "message": "Tomorrow morning?"}},
        "hunter",
    )
    assert applied["__typename"] == "ApplicationSuccess", applied
    mine = await c.op("MyApplications", None, "hunter")
    assert any(edge["node"]["bounty"]["id"] == bounty_id for edge in mine["edges"]), mine
    also = {"input": {"bountyId": bounty_id, "message": "I have a drill."}}
    assert (await c.op("ApplyToBounty", also, "carla"))["__typename"] == "ApplicationSuccess"
    as_poster = await c.op("Bounty", {"id": bounty_id}, "poster")
    by = {a["hunter"]["id"]: a["id"] for a in as_poster["applications"]}
    assert set(by) == {c.ids["hunter"], c.ids["carla"]}, as_poster
    rejected = await c.op(
        "RejectApplication", {"input": {"applicationId": by[c.ids["carla"]]}}, "poster"
    )
    assert rejected["application"]["status"] == "REJECTED", rejected
    accepted = await c.op(
        "AcceptApplication", {"input": {"applicationId": by[c.ids["hunter"]]}}, "poster"
    )
    assert accepted["application"]["status"] == "ACCEPTED", accepted
    assert accepted["bounty"]["status"] == "ASSIGNED", accepted
    submitted = await c.op(
        "SubmitWork", {"input": {"bountyId": bounty_id, "note": "Done."}}, "hunter"
    )
    assert submitted["bounty"]["status"] == "SUBMITTED", submitted


async def payments(c: Checklist) -> None:
    added = await c.op("AddPaymentMethod", {"input": {"paymentMethodId": "pm_card_visa"}}, "poster")
    assert added["setup"]["status"] == "SUCCEEDED", added
    new_card = added["paymentMethod"]["id"]
    cards = await c.op("PaymentMethods", None, "poster")
    assert len(cards) == 2, cards
    made = await c.op("SetDefaultPaymentMethod", {"input": {"id": new_card}}, "poster")
    assert made["__typename"] == "SetDefaultPaymentMethodSuccess", made
    removed = await c.op("RemovePaymentMethod", {"input": {"id": new_card}}, "poster")
    assert removed["removedId"] == new_card, removed
    seeded = await c.op("Wallet", None, "hunter")  # the demo's: 50.00 EUR less the 10% fee
    assert seeded == {"currency": "EUR", "available": 4500, "pending": 0}, seeded
    bounty_id = c.ids["new bounty"]
    approved = await c.op(
        "ApproveCompletion", {"input": {"bountyId": bounty_id, "idempotencyKey": key()}}, "poster"
    )
    assert approved["bounty"]["status"] == "COMPLETED", approved
    for author in ("poster", "hunter"):
        review = {"input": {"bountyId": bounty_id, "rating": 5, "text": "Great."}}
        reviewed = await c.op("ReviewUser", review, author)
        assert reviewed["__typename"] == "ReviewUserSuccess", reviewed
    wallet = await c.op("Wallet", {"currency": "EUR"}, "hunter")
    history = await c.op("Transactions", None, "hunter")
    released = [edge["node"] for edge in history["edges"] if edge["node"]["bountyId"] == bounty_id]
    assert [(t["type"], t["amount"] + t["fee"]) for t in released] == [("RELEASED", 3000)]
    funded = await c.op("Transactions", {"type": "FUNDED"}, "poster")
    assert {edge["node"]["type"] for edge in funded["edges"]} == {"FUNDED"}
    assert (await c.op("PayoutAccount", None, "hunter"))["status"] == "NOT_STARTED"
    link = await c.op("PayoutAccountLink", None, "hunter")
    assert link["account"]["status"] == "ENABLED", link
    payout = {"input": {"amount": 4500, "currency": "EUR", "idempotencyKey": key()}}
    paid = await c.op("RequestPayout", payout, "hunter")
    assert paid["payout"]["status"] == "IN_TRANSIT", paid
    assert paid["wallet"]["pending"] == 4500
    assert paid["wallet"]["available"] == wallet["available"] - 4500
    payouts = await c.op("Payouts", None, "hunter")
    assert [edge["node"]["id"] for edge in payouts["edges"]] == [paid["payout"]["id"]]


async def messaging(c: Checklist) -> None:
    bounty_id = c.ids["new bounty"]
    started = await c.op(
        "StartConversation",
        {"input": {"bountyId": bounty_id, "withUserId": c.ids["hunter"]}},
        "poster",
    )
    assert started["__typename"] == "StartConversationSuccess", started
    conversation = started["conversation"]["id"]
    on_conversation = {"conversationId": conversation}
    sent: list[str] = []

    async def set_typing(attempt: int) -> None:
        typing = await c.op("SetTyping", on_conversation, "poster")
        assert typing["__typename"] == "SetTypingSuccess", typing

    async def send(attempt: int) -> None:
        message = {**on_conversation, "body": "Hi!", "clientMessageId": key()}
        answer = await c.op("SendMessage", {"input": message}, "poster")
        assert answer["__typename"] == "SendMessageSuccess", answer
        sent.append(answer["sent"]["id"])

    async with c.tab("hunter") as hunter, c.tab("poster") as poster:
        added = await hunter.subscribe("MessageAdded", on_conversation)
        typing = await hunter.subscribe("Typing", on_conversation)
        counts = await hunter.subscribe("UnreadCountsChanged", {})
        receipts = await poster.subscribe("MessageRead", on_conversation)
        await hunter.until(
            typing, lambda e: e["typing"]["user"]["id"] == c.ids["poster"], set_typing
        )
        message = await hunter.until(added, lambda e: e["messageAdded"]["body"] == "Hi!", send)
        await hunter.until(counts, lambda e: e["unreadCounts"]["messages"] >= 1, send)
        listed = await c.op("Conversations", None, "hunter")
        assert conversation in [edge["node"]["id"] for edge in listed["edges"]]
        messages = await c.op("Messages", on_conversation, "hunter")
        assert {edge["node"]["body"] for edge in messages["edges"]} == {"Hi!"}
        assert message["messageAdded"]["id"] in [edge["node"]["id"] for edge in messages["edges"]]
        assert (await c.op("UnreadCounts", None, "hunter"))["messages"] >= 1

        async def mark_read(attempt: int) -> None:
            if attempt:
                await send(attempt)  # a receipt is sent when the read position moves
            read = {"input": {**on_conversation, "upToMessageId": sent[-1]}}
            marked = await c.op("MarkConversationRead", read, "hunter")
            assert marked["__typename"] == "MarkConversationReadSuccess", marked

        receipt = await poster.until(
            receipts, lambda e: e["messageRead"]["user"]["id"] == c.ids["hunter"], mark_read
        )
        assert receipt["messageRead"]["messageId"] == sent[-1], receipt


async def notifications(c: Checklist) -> None:
    device = {
        "input": {
            "token": "ExponentPushToken[anything-10-chars]",
            "platform": "IOS",
            "deviceId": "guide-device",
        }
    }
    registered = await c.op("RegisterPushToken", device, "hunter")
    assert registered["__typename"] == "RegisterPushTokenSuccess", registered
    await c.op("NotificationPreferences", None, "hunter")
    changed = await c.op(
        "UpdateNotificationPreferences", {"input": {"timeZone": "Europe/Berlin"}}, "hunter"
    )
    assert changed["__typename"] == "UpdateNotificationPreferencesSuccess", changed

    def accepted(page: Any) -> bool:
        return any(
            edge["node"]["type"] == "APPLICATION_ACCEPTED"
            and "Hang four shelves" in edge["node"]["body"]
            for edge in page["edges"]
        )

    await c.eventually("Notifications", None, "hunter", accepted)
    # Step 7.3: the hunter's tab hears the poster approve the demo's submitted bounty. Resumed
    # after the newest notification the hunter has: nothing is missed, however late it starts.
    newest = (await c.op("Notifications", None, "hunter"))["edges"][0]["node"]["id"]
    mine = await c.op("MyBounties", {"status": ["SUBMITTED"]}, "poster")
    (flat,) = [
        edge["node"]["id"]
        for edge in mine["edges"]
        if edge["node"]["title"] == "Photograph a flat for a rental listing"
    ]
    heard: set[str] = set()

    def hear(event: Any) -> bool:
        heard.add(event["notificationAdded"]["type"])
        return heard >= {"BOUNTY_COMPLETED", "PAYMENT_RELEASED"}

    async with c.tab("hunter") as tab:
        live = await tab.subscribe("NotificationAdded", {"after": newest})
        approve = {"input": {"bountyId": flat, "idempotencyKey": key()}}
        approved = await c.op("ApproveCompletion", approve, "poster")
        assert approved["bounty"]["status"] == "COMPLETED", approved
        await tab.until(live, hear, attempts=1, within=15)
    listed = await c.op("Notifications", None, "hunter")
    unread = await c.op("UnreadNotificationCount", None, "hunter")
    assert unread >= 1
    first = listed["edges"][0]["node"]["id"]
    marked = await c.op("MarkNotificationRead", {"id": first}, "hunter")
    assert marked["__typename"] == "MarkNotificationReadSuccess", marked
    await c.op("MarkAllNotificationsRead", None, "hunter")
    assert await c.op("UnreadNotificationCount", None, "hunter") == 0
    gone = await c.op("UnregisterPushToken", {"deviceId": "guide-device"}, "hunter")
    assert gone["__typename"] == "UnregisterPushTokenSuccess", gone


async def staff(c: Checklist) -> None:
    """Step 8, with the documents pasted from the guide."""
    listed = await c.op("Bounties", {"filter": {"category": "pets"}}, "hunter")
    target = listed["edges"][0]["node"]["id"]
    report = await c.paste(0, "hunter", id=target)
    assert report["data"]["reportContent"]["report"]["status"] == "OPEN", report
    again = await c.paste(0, "hunter", id=target)
    assert again["data"]["reportContent"]["code"] == "ALREADY_REPORTED", again
    assert code_of(await c.paste(1, "hunter")) == "FORBIDDEN"
    queue = await c.paste(2, "moderator")
    (item,) = [
        edge["node"]
        for edge in queue["data"]["contentReviewQueue"]["edges"]
        if edge["node"]["targetId"] == target
    ]
    resolved = await c.paste(3, "moderator", **{"report id": item["id"]})
    assert resolved["data"]["resolveReport"]["report"]["status"] == "RESOLVED", resolved
    assert (await c.op("Bounty", {"id": target}, "hunter")) is None
    await c.eventually(
        "Notifications",
        None,
        "hunter",
        lambda page: page["edges"][0]["node"]["type"] == "REPORT_RESOLVED",
    )
    assert code_of(await c.paste(4, "moderator")) == "FORBIDDEN"
    users = await c.paste(5, "admin")
    (hunter,) = [edge["node"] for edge in users["data"]["adminUsers"]["edges"]]
    shown = await c.paste(6, "admin", id=hunter["id"])
    assert shown["data"]["adminUser"]["email"] == "hunter@demo.bountyexpo.dev", shown
    audit = await c.paste(7, "admin")
    actions = [edge["node"]["action"] for edge in audit["data"]["auditEvents"]["edges"]]
    assert actions == ["moderation.resolved", "moderation.reported"], audit
    settings = await c.paste(8, "admin")
    assert "errors" not in settings, settings
    dashboard = await c.paste(4, "admin")
    assert "errors" not in dashboard, dashboard
    metrics = await c.paste(9, "admin")
    assert "errors" not in metrics, metrics
    risk = await c.paste(10, "admin", **{"poster id": c.ids["poster"]})
    assert "errors" not in risk, risk
    restricted = await c.paste(11, "admin", **{"poster id": c.ids["poster"]})
    assert restricted["data"]["takeRiskAction"]["restrictions"]["paymentsRestricted"], restricted
    drafts = await c.op("MyBounties", {"status": ["DRAFT"]}, "poster")
    (thesis,) = [
        edge["node"]["id"]
        for edge in drafts["edges"]
        if edge["node"]["title"] == "Proofread my thesis introduction"
    ]
    cards = await c.op("PaymentMethods", None, "poster")
    publish = {"bountyId": thesis, "paymentMethodId": cards[0]["id"]}
    refused = await c.op("PublishBounty", {"input": {**publish, "idempotencyKey": key()}}, "poster")
    assert refused["code"] == "PAYMENTS_RESTRICTED", refused
    lift = c.staff[11].replace("RESTRICT_PAYMENTS", "CLEAR")
    clear = fill(lift, **{"poster id": c.ids["poster"]})
    cleared = await c.raw(clear, None, "admin")
    assert not cleared["data"]["takeRiskAction"]["restrictions"]["paymentsRestricted"], cleared
    opened = await c.op("PublishBounty", {"input": {**publish, "idempotencyKey": key()}}, "poster")
    assert opened["bounty"]["status"] == "OPEN", opened
    suspended = await c.paste(12, "admin", **{"carla id": c.ids["carla"]})
    assert suspended["data"]["setUserStatus"]["user"]["status"] == "SUSPENDED", suspended
    assert code_of(await c.raw(document("Viewer"), None, "carla")) == "UNAUTHENTICATED"
    credentials = {"email": "carla@demo.bountyexpo.dev", "password": PASSWORD}
    refused = await c.op("SignIn", {"input": credentials})
    assert refused["code"] == "ACCOUNT_SUSPENDED", refused
    restore = c.staff[12].replace("SUSPENDED", "ACTIVE")
    restored = await c.raw(fill(restore, **{"carla id": c.ids["carla"]}), None, "admin")
    assert restored["data"]["setUserStatus"]["user"]["status"] == "ACTIVE", restored
    await c.sign_in("carla")


STEPS = (
    authentication,
    profile,
    bounty_creation,
    applications,
    payments,
    messaging,
    notifications,
    staff,
)


async def run(send: Send, open_socket: OpenSocket, reuse_grace_seconds: float = 0) -> Checklist:
    checklist = Checklist(send, open_socket, reuse_grace_seconds)
    for step in STEPS:
        await step(checklist)
    return checklist


if __name__ == "__main__":
    import sys

    import httpx
    from httpx_ws import aconnect_ws

    async def main(url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as client:

            def open_socket() -> AbstractAsyncContextManager[Any]:
                ws_url = url.replace("http", "ws", 1)
                return aconnect_ws(ws_url, client, subprotocols=["graphql-transport-ws"])

            async def send(
                query: str, variables: dict[str, Any], token: str | None, files: dict[str, Upload]
            ) -> Any:
                headers = {"authorization": f"Bearer {token}"} if token else {}
                if files:
                    headers["apollo-require-preflight"] = "true"
                    parts = multipart(query, variables, files)
                    return (await client.post(url, headers=headers, **parts)).json()
                body = {"query": query, "variables": variables}
                return (await client.post(url, json=body, headers=headers)).json()

            await run(send, open_socket, reuse_grace_seconds=10)
        print("checklist: every step as the guide says")

    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/graphql"))
