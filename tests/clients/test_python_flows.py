"""The seven client flows end to end through `gql` (the Python client an app team would use),
against the gateway, a worker and the local push and mail servers as separate processes.

Two users (and a rival hunter) go from sign-up to a completed, reviewed bounty: idempotent
sign-up and creates, avatar and bounty images, publishing (funding), browsing and applying, live
bounty updates, live messages with typing and read receipts, notifications live, as push and as
mail, an expired access token refreshed once for three concurrent requests, acceptance, work,
approval and release, reviews, and sign-out. Every document in clients/operations/ runs.
"""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from gql.transport.exceptions import TransportQueryError
from gql.transport.file_upload import FileVar
from PIL import Image

from app.db.models import Role
from app.security.jwt import issue_access_token
from tests.clients.app_client import AppClient, Catalog, Listener, error_code
from tests.clients.stack import Stack, client_stack
from tests.conftest import make_settings

pytestmark = pytest.mark.asyncio

PASSWORD = "correct horse battery staple"


@pytest_asyncio.fixture
async def stack(server_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with client_stack(server_url, tmp_path) as running:
        yield running


def png(width: int, height: int) -> FileVar:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG")
    buffer.seek(0)
    return FileVar(buffer, filename="photo.png", content_type="image/png")


def key() -> str:
    return str(uuid.uuid4())


async def until(check: Callable[[], Awaitable[Any]], within: float = 60) -> Any:
    """Poll `check` until it returns something truthy (work a worker process does)."""
    async with asyncio.timeout(within):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.2)


async def live(
    probe: Callable[[], Awaitable[Any]],
    listener: Listener,
    where: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """Repeat `probe` until `listener` sees an event it causes (`where`): the subscription is
    live on the server (graphql-transport-ws does not acknowledge a subscribe)."""
    async with asyncio.timeout(60):
        while True:
            await probe()
            try:
                while True:
                    event = await listener.next(within=0.5)
                    if where(event):
                        return event
            except TimeoutError:
                continue


async def sign_up(app: AppClient, email: str, name: str) -> dict[str, Any]:
    variables = {
        "input": {
            "email": email,
            "password": PASSWORD,
            "displayName": name,
            "idempotencyKey": key(),
        }
    }
    first = (await app.run("SignUp", variables))["signUp"]
    assert first["__typename"] == "SignUpSuccess", first
    # A retry of the same sign-up (the answer was lost) gets the same account, a new session.
    again = (await app.run("SignUp", variables))["signUp"]
    assert again["user"]["id"] == first["user"]["id"]
    assert again["session"]["refreshToken"] != first["session"]["refreshToken"]
    app.keep(again["session"])
    user: dict[str, Any] = again["user"]
    assert user == {
        "id": user["id"],
        "displayName": name,
        "email": email,
        "role": "USER",
        "__typename": "User",
    }
    return user


async def test_two_users_go_from_sign_up_to_a_reviewed_bounty(stack: Stack) -> None:
    catalog = Catalog.load()
    base = stack.gateway.http
    async with (
        AppClient(base, catalog, "poster") as poster,
        AppClient(base, catalog, "hunter") as hunter,
        AppClient(base, catalog, "rival") as rival,
    ):
        # --- authentication -------------------------------------------------------------
        poster_user = await sign_up(poster, "priya@example.com", "Priya Poster")
        hunter_user = await sign_up(hunter, "hugo@example.com", "Hugo Hunter")
        await sign_up(rival, "rita@example.com", "Rita Rival")
        signed_out = await hunter.run("SignOut", {"refreshToken": hunter.refresh_token})
        assert signed_out["signOut"] == {"__typename": "SignOutSuccess", "signedOut": True}
        with pytest.raises(TransportQueryError) as refused:
            await hunter.run("Viewer")  # the access token of an ended session
        assert error_code(refused.value) == "UNAUTHENTICATED"
        assert (hunter.access_token, hunter.refresh_token, hunter.refreshes) == (None, None, 0)
        signed_in = await hunter.run(
            "SignIn", {"input": {"email": "hugo@example.com", "password": PASSWORD}}
        )
        assert signed_in["signIn"]["__typename"] == "SignInSuccess"
        assert signed_in["signIn"]["user"]["id"] == hunter_user["id"]
        hunter.keep(signed_in["signIn"]["session"])

        # --- profile --------------------------------------------------------------------
        viewer = (await hunter.run("Viewer"))["viewer"]
        assert (viewer["id"], viewer["email"], viewer["status"], viewer["avatarUrl"]) == (
            hunter_user["id"],
            "hugo@example.com",
            "ACTIVE",
            None,
        )
        updated = await hunter.run(
            "UpdateProfile",
            {"input": {"bio": "Fixes things.", "skills": ["plumbing", "tiling"], "phone": None}},
        )
        assert updated["updateProfile"]["user"]["skills"] == ["plumbing", "tiling"]
        avatar = await hunter.run("UploadAvatar", {"file": png(64, 48)}, upload=True)
        assert avatar["uploadAvatar"]["__typename"] == "UploadAvatarSuccess"
        avatar_url = avatar["uploadAvatar"]["user"]["avatarUrl"]
        assert avatar_url.startswith(f"{base}/media/")
        async with httpx.AsyncClient() as http:
            image = await http.get(avatar_url)
        assert image.status_code == 200
        assert image.headers["content-type"] in {"image/png", "image/webp", "image/jpeg"}
        seen = (await poster.run("Profile", {"id": hunter_user["id"]}))["profile"]
        assert (seen["displayName"], seen["bio"], seen["avatarUrl"], seen["reviewCount"]) == (
            "Hugo Hunter",
            "Fixes things.",
            avatar_url,
            0,
        )

        # --- notifications setup --------------------------------------------------------
        for app, device in ((poster, "poster-phone-1"), (hunter, "hunter-phone-1")):
            registered = await app.run(
                "RegisterPushToken",
                {
                    "input": {
                        "token": f"ExponentPushToken[{device}-token]",
                        "platform": "IOS",
                        "deviceId": device,
                    }
                },
            )
            assert registered["registerPushToken"] == {
                "__typename": "RegisterPushTokenSuccess",
                "deviceId": device,
                "platform": "IOS",
            }
        preferences = (await hunter.run("NotificationPreferences"))["notificationPreferences"]
        accepted_channels = next(
            c for c in preferences["channels"] if c["type"] == "APPLICATION_ACCEPTED"
        )
        assert accepted_channels == {
            "type": "APPLICATION_ACCEPTED",
            "inApp": True,
            "push": True,
            "email": True,
            "__typename": "NotificationChannels",
        }
        changed = await hunter.run(
            "UpdateNotificationPreferences",
            {
                "input": {
                    "timeZone": "Europe/Paris",
                    "channels": [{"type": "NEW_MESSAGE", "channel": "PUSH", "enabled": False}],
                }
            },
        )
        result = changed["updateNotificationPreferences"]
        assert result["preferences"]["timeZone"] == "Europe/Paris"
        assert (
            next(c for c in result["preferences"]["channels"] if c["type"] == "NEW_MESSAGE")["push"]
            is False
        )

        # --- bounty creation ------------------------------------------------------------
        categories = (await poster.run("BountyCategories"))["bountyCategories"]
        assert "handyman" in categories
        create = {
            "input": {
                "title": "Fix a leaking tap",
                "description": "Kitchen tap drips day and night.",
                "category": "handyman",
                "reward": {"amount": 5000, "currency": "USD"},
                "location": {"latitude": 48.8566, "longitude": 2.3522, "placeName": "Paris"},
                "idempotencyKey": key(),
            }
        }
        created = (await poster.run("CreateBounty", create))["createBounty"]
        assert created["__typename"] == "BountySuccess", created
        bounty = created["bounty"]
        assert (bounty["status"], bounty["reward"]) == (
            "DRAFT",
            {"amount": 5000, "currency": "USD", "__typename": "Money"},
        )
        retried = (await poster.run("CreateBounty", create))["createBounty"]
        assert retried["bounty"]["id"] == bounty["id"]  # a retried create creates nothing
        bounty_id = bounty["id"]
        edited = await poster.run(
            "UpdateBounty", {"input": {"bountyId": bounty_id, "title": "Fix a leaking kitchen tap"}}
        )
        assert edited["updateBounty"]["bounty"]["title"] == "Fix a leaking kitchen tap"
        images = []
        for size in ((320, 240), (200, 200)):
            added = await poster.run(
                "AddBountyImage", {"bountyId": bounty_id, "file": png(*size)}, upload=True
            )
            assert added["addBountyImage"]["__typename"] == "BountyImageSuccess", added
            images.append(added["addBountyImage"]["image"])
        assert [(i["width"], i["height"]) for i in images] == [(320, 240), (200, 200)]
        removed = await poster.run("RemoveBountyImage", {"imageId": images[1]["id"]})
        assert [i["id"] for i in removed["removeBountyImage"]["bounty"]["images"]] == [
            images[0]["id"]
        ]
        # Save cards first (Stripe's test ids are saved at once; the sheet path waits for the
        # app and a webhook: tests/resolvers/test_payment_methods.py), then fund with one.
        card_key = key()
        saved = (
            await poster.run(
                "AddPaymentMethod",
                {"input": {"paymentMethodId": "pm_card_visa", "idempotencyKey": card_key}},
            )
        )["addPaymentMethod"]
        assert saved["setup"]["status"] == "SUCCEEDED", saved
        card = saved["paymentMethod"]
        assert (card["brand"], card["last4"], card["isDefault"]) == ("visa", "4242", True)
        spare = (
            await poster.run(
                "AddPaymentMethod", {"input": {"paymentMethodId": "pm_card_mastercard"}}
            )
        )["addPaymentMethod"]["paymentMethod"]
        made = (await poster.run("SetDefaultPaymentMethod", {"input": {"id": spare["id"]}}))[
            "setDefaultPaymentMethod"
        ]
        assert [m["id"] for m in made["paymentMethods"] if m["isDefault"]] == [spare["id"]]
        gone = (await poster.run("RemovePaymentMethod", {"input": {"id": spare["id"]}}))[
            "removePaymentMethod"
        ]
        assert [(m["id"], m["isDefault"]) for m in gone["paymentMethods"]] == [(card["id"], True)]
        listed = (await poster.run("PaymentMethods", {}))["paymentMethods"]
        assert [m["id"] for m in listed] == [card["id"]]
        publish = {
            "input": {
                "bountyId": bounty_id,
                "idempotencyKey": key(),
                "paymentMethodId": card["id"],
            }
        }
        published = (await poster.run("PublishBounty", publish))["publishBounty"]
        assert published["__typename"] == "PublishBountySuccess", published
        assert published["bounty"]["status"] == "OPEN"
        assert published["payment"]["status"] == "SUCCEEDED"
        assert published["payment"]["publishableKey"] == "pk_test_sandbox"
        assert (await poster.run("PublishBounty", publish))["publishBounty"] == published
        mine = (await poster.run("MyBounties", {"status": ["OPEN"], "first": 10}))["myBounties"]
        assert [edge["node"]["id"] for edge in mine["edges"]] == [bounty_id]
        assert mine["totalCount"] == 1

        # --- live: the poster watches the bounty, notifications and badges ---------------
        await poster.connect_socket()
        poster_bounty = poster.listen("BountyUpdated", {"id": bounty_id})
        poster_notes = poster.listen("NotificationAdded")
        first_edit = await live(
            lambda: poster.run(
                "UpdateBounty", {"input": {"bountyId": bounty_id, "description": "Drips a lot."}}
            ),
            poster_bounty,
        )
        assert first_edit["bountyUpdated"]["bountyId"] == bounty_id
        while poster_bounty.pending():
            await poster_bounty.next()

        # --- applications ---------------------------------------------------------------
        found = await hunter.run(
            "Bounties",
            {"filter": {"category": "handyman", "text": "tap", "minReward": 1000}, "first": 5},
        )
        assert [edge["node"]["id"] for edge in found["bounties"]["edges"]] == [bounty_id]
        assert found["bounties"]["edges"][0]["node"]["poster"]["displayName"] == "Priya Poster"
        detail = (await hunter.run("Bounty", {"id": bounty_id}))["bounty"]
        assert (detail["status"], detail["applications"], detail["history"]) == ("OPEN", None, None)
        assert [image["id"] for image in detail["images"]] == [images[0]["id"]]
        apply = {
            "input": {
                "bountyId": bounty_id,
                "message": "I can come tomorrow.",
                "proposedAmount": 4500,
                "idempotencyKey": key(),
            }
        }
        applied = (await hunter.run("ApplyToBounty", apply))["applyToBounty"]
        assert applied["__typename"] == "ApplicationSuccess", applied
        assert applied["application"]["status"] == "PENDING"
        application_id = applied["application"]["id"]
        update = (await poster_bounty.next())["bountyUpdated"]
        assert (update["applications"], update["bounty"]["applicationCount"]) == ("submitted", 1)
        rival_applied = await rival.run(
            "ApplyToBounty",
            {"input": {"bountyId": bounty_id, "message": "Me too.", "idempotencyKey": key()}},
        )
        rival_application = rival_applied["applyToBounty"]["application"]["id"]
        received = (await poster_notes.next())["notificationAdded"]
        assert (received["type"], received["title"]) == ("APPLICATION_RECEIVED", "New application")
        rejected = await poster.run(
            "RejectApplication", {"input": {"applicationId": rival_application}}
        )
        assert rejected["rejectApplication"]["application"]["status"] == "REJECTED"
        listed = (await hunter.run("MyApplications", {"first": 5}))["myApplications"]
        assert [(e["node"]["id"], e["node"]["status"]) for e in listed["edges"]] == [
            (application_id, "PENDING")
        ]
        poster_view = (await poster.run("Bounty", {"id": bounty_id}))["bounty"]
        assert {(a["id"], a["status"]) for a in poster_view["applications"]} == {
            (application_id, "PENDING"),
            (rival_application, "REJECTED"),
        }

        # --- messaging ------------------------------------------------------------------
        started = await poster.run(
            "StartConversation",
            {"input": {"bountyId": bounty_id, "withUserId": hunter_user["id"]}},
        )
        conversation = started["startConversation"]["conversation"]
        conversation_id = conversation["id"]
        assert {p["id"] for p in conversation["participants"]} == {
            poster_user["id"],
            hunter_user["id"],
        }
        await hunter.connect_socket()
        hunter_messages = hunter.listen("MessageAdded", {"conversationId": conversation_id})
        hunter_notes = hunter.listen("NotificationAdded")
        hunter_badges = hunter.listen("UnreadCountsChanged")
        hunter_typing = hunter.listen("Typing", {"conversationId": conversation_id})
        poster_messages = poster.listen("MessageAdded", {"conversationId": conversation_id})
        poster_receipts = poster.listen("MessageRead", {"conversationId": conversation_id})
        poster_typing = poster.listen("Typing", {"conversationId": conversation_id})
        typed = await live(
            lambda: poster.run("SetTyping", {"conversationId": conversation_id}),
            hunter_typing,
            where=lambda event: event["typing"]["user"]["id"] == poster_user["id"],
        )
        assert typed["typing"]["user"]["displayName"] == "Priya Poster"
        typed_back = await live(
            lambda: hunter.run("SetTyping", {"conversationId": conversation_id}),
            poster_typing,
            where=lambda event: event["typing"]["user"]["id"] == hunter_user["id"],
        )
        assert typed_back["typing"]["user"]["displayName"] == "Hugo Hunter"

        sent = await poster.run(
            "SendMessage",
            {
                "input": {
                    "conversationId": conversation_id,
                    "body": "Can you bring a spare washer?",
                    "clientMessageId": key(),
                }
            },
        )
        message = sent["sendMessage"]["sent"]
        arrived = (await hunter_messages.next())["messageAdded"]
        assert (arrived["id"], arrived["body"], arrived["sender"]["id"]) == (
            message["id"],
            "Can you bring a spare washer?",
            poster_user["id"],
        )
        badge = (await hunter_badges.next())["unreadCounts"]
        assert badge["messages"] == 1
        assert (await hunter.run("UnreadCounts"))["unreadCounts"]["messages"] == 1
        inbox = (await hunter.run("Conversations", {"first": 10}))["conversations"]
        assert [(e["node"]["id"], e["node"]["unreadCount"]) for e in inbox["edges"]] == [
            (conversation_id, 1)
        ]
        history = (await hunter.run("Messages", {"conversationId": conversation_id}))["messages"]
        assert [e["node"]["body"] for e in history["edges"]] == ["Can you bring a spare washer?"]
        read = await hunter.run(
            "MarkConversationRead",
            {"input": {"conversationId": conversation_id, "upToMessageId": message["id"]}},
        )
        assert read["markConversationRead"]["receipt"]["messageId"] == message["id"]
        receipt = (await poster_receipts.next())["messageRead"]
        assert (receipt["messageId"], receipt["user"]["id"]) == (message["id"], hunter_user["id"])
        reply = await hunter.run(
            "SendMessage",
            {
                "input": {
                    "conversationId": conversation_id,
                    "body": "Yes, I have one.",
                    "clientMessageId": key(),
                }
            },
        )
        assert reply["sendMessage"]["__typename"] == "SendMessageSuccess"
        mine_or_theirs = [(await poster_messages.next())["messageAdded"]["body"] for _ in range(2)]
        assert mine_or_theirs == ["Can you bring a spare washer?", "Yes, I have one."]
        # A reconnecting app resubscribes with the last message it has: what it missed comes first.
        resumed = hunter.listen(
            "MessageAdded", {"conversationId": conversation_id, "after": message["id"]}
        )
        assert (await resumed.next())["messageAdded"]["body"] == "Yes, I have one."

        # --- the hunter's access token expires; three requests at once refresh once -------
        claims = jwt.decode(hunter.access_token or "", options={"verify_signature": False})
        hunter.access_token = issue_access_token(
            make_settings(),
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            session_id=uuid.UUID(claims["sid"]),
            now=datetime.now(UTC) - timedelta(hours=1),
        )
        rotated_from = hunter.refresh_token
        views, threads, count = await asyncio.gather(
            hunter.run("Viewer"),
            hunter.run("Conversations", {"first": 1}),
            hunter.run("UnreadNotificationCount"),
        )
        assert hunter.refreshes == 1
        assert hunter.refresh_token != rotated_from
        assert views["viewer"]["id"] == hunter_user["id"]
        assert threads["conversations"]["edges"][0]["node"]["id"] == conversation_id
        assert count["unreadNotificationCount"] == 0

        # --- acceptance: live, push and mail --------------------------------------------
        accepted = await poster.run(
            "AcceptApplication", {"input": {"applicationId": application_id}}
        )
        assert accepted["acceptApplication"]["bounty"]["status"] == "ASSIGNED"
        assert accepted["acceptApplication"]["bounty"]["hunter"]["id"] == hunter_user["id"]
        note = (await hunter_notes.next())["notificationAdded"]
        assert (note["type"], note["title"]) == (
            "APPLICATION_ACCEPTED",
            "Your application was accepted",
        )
        # Deep-link data holds the raw UUID; the API's ids are global ("Bounty:<uuid>", base64).
        assert base64.b64decode(bounty_id).decode() == f"Bounty:{note['data']['bountyId']}"

        def pushes_to(device: str) -> list[dict[str, Any]]:
            token = f"ExponentPushToken[{device}-token]"
            return [m for batch in stack.expo.sends() for m in batch if m["to"] == token]

        async def accepted_push() -> list[dict[str, Any]]:
            titles = [m.get("title") for m in pushes_to("hunter-phone-1")]
            return [t for t in titles if t == "Your application was accepted"]

        assert await until(accepted_push) == ["Your application was accepted"]

        async def accepted_mail() -> list[str]:
            return [
                str(m["Subject"])
                for m in stack.inbox.messages
                if "hugo@example.com" in str(m["To"]) and "accepted" in str(m["Subject"])
            ]

        assert len(await until(accepted_mail)) == 1

        async def application_pushes() -> list[str]:
            titles = [m.get("title") for m in pushes_to("poster-phone-1")]
            return [t for t in titles if t == "New application"] if len(titles) >= 2 else []

        assert await until(application_pushes) == ["New application", "New application"]

        # --- work, approval and release, reviews -----------------------------------------
        submitted = await hunter.run(
            "SubmitWork", {"input": {"bountyId": bounty_id, "note": "New washer fitted."}}
        )
        assert submitted["submitWork"]["bounty"]["status"] == "SUBMITTED"
        approve = {"input": {"bountyId": bounty_id, "idempotencyKey": key()}}
        approved = (await poster.run("ApproveCompletion", approve))["approveCompletion"]
        assert approved == {
            "__typename": "BountySuccess",
            "bounty": {"id": bounty_id, "status": "COMPLETED", "__typename": "Bounty"},
        }
        assert (await poster.run("ApproveCompletion", approve))["approveCompletion"] == approved
        seen_types: set[str] = set()
        while not {"BOUNTY_COMPLETED", "PAYMENT_RELEASED"} <= seen_types:
            seen_types.add((await hunter_notes.next())["notificationAdded"]["type"])
        # The release reached the hunter's wallet net of the 10 % platform fee.
        wallet = (await hunter.run("Wallet", {"currency": "USD"}))["wallet"]
        assert (wallet["available"], wallet["pending"]) == (4500, 0)
        money = (await hunter.run("Transactions", {"first": 10}))["transactions"]
        assert [
            (e["node"]["type"], e["node"]["amount"], e["node"]["fee"]) for e in money["edges"]
        ] == [("RELEASED", 4500, 500)]
        paid = (await poster.run("Transactions", {"type": "FUNDED"}))["transactions"]
        assert [(e["node"]["amount"], e["node"]["currency"]) for e in paid["edges"]] == [
            (-5000, "USD")
        ]
        # --- payout: Connect onboarding, then the wallet out to the hunter's bank -----------
        account = (await hunter.run("PayoutAccount"))["payoutAccount"]
        assert account["status"] == "NOT_STARTED"
        linked = (await hunter.run("PayoutAccountLink"))["payoutAccountLink"]
        assert linked["__typename"] == "PayoutAccountLinkSuccess", linked
        assert linked["account"]["status"] == "ENABLED"  # the sandbox onboards at once
        assert (await hunter.run("PayoutAccount"))["payoutAccount"]["payoutsEnabled"] is True
        payout = {"input": {"amount": 4500, "currency": "USD", "idempotencyKey": key()}}
        paid_out = (await hunter.run("RequestPayout", payout))["requestPayout"]
        assert paid_out["__typename"] == "RequestPayoutSuccess", paid_out
        assert (paid_out["payout"]["status"], paid_out["payout"]["amount"]) == ("IN_TRANSIT", 4500)
        assert (paid_out["wallet"]["available"], paid_out["wallet"]["pending"]) == (0, 4500)
        assert (await hunter.run("RequestPayout", payout))["requestPayout"] == paid_out
        listed = (await hunter.run("Payouts", {"first": 5}))["payouts"]["edges"]
        assert [(e["node"]["id"], e["node"]["status"]) for e in listed] == [
            (paid_out["payout"]["id"], "IN_TRANSIT")
        ]
        for author, rating in ((poster, 5), (hunter, 4)):
            reviewed = await author.run(
                "ReviewUser",
                {"input": {"bountyId": bounty_id, "rating": rating, "text": "Great to work with."}},
            )
            assert reviewed["reviewUser"]["review"]["rating"] == rating, reviewed
        profile = (await rival.run("Profile", {"id": hunter_user["id"]}))["profile"]
        assert (profile["rating"], profile["reviewCount"]) == (5.0, 1)
        assert profile["reviews"][0]["author"]["id"] == poster_user["id"]

        # --- in-app notifications ---------------------------------------------------------
        listed_notes = (await hunter.run("Notifications", {"first": 20}))["notifications"]
        kinds = [edge["node"]["type"] for edge in listed_notes["edges"]]
        assert sorted(kinds) == ["APPLICATION_ACCEPTED", "BOUNTY_COMPLETED", "PAYMENT_RELEASED"]
        assert kinds[-1] == "APPLICATION_ACCEPTED"  # newest first
        unread = (await hunter.run("UnreadNotificationCount"))["unreadNotificationCount"]
        assert unread == len(kinds)
        first_id = listed_notes["edges"][0]["node"]["id"]
        marked = await hunter.run("MarkNotificationRead", {"id": first_id})
        assert marked["markNotificationRead"]["notification"]["read"] is True
        cleared = await hunter.run("MarkAllNotificationsRead")
        assert cleared["markAllNotificationsRead"]["count"] == unread - 1
        assert (await hunter.run("UnreadNotificationCount"))["unreadNotificationCount"] == 0

        # --- sign out on this device ------------------------------------------------------
        gone = await hunter.run("UnregisterPushToken", {"deviceId": "hunter-phone-1"})
        assert gone["unregisterPushToken"]["deviceId"] == "hunter-phone-1"
        out = await hunter.run("SignOut", {"refreshToken": hunter.refresh_token})
        assert out["signOut"]["signedOut"] is True
        hunter.access_token = None  # what the app forgets on sign-out; the refresh token too
        refused_after = await hunter.run("RefreshSession", {"refreshToken": hunter.refresh_token})
        assert refused_after["refreshSession"]["code"] == "INVALID_REFRESH_TOKEN"

    assert set(catalog.operations) - catalog.used == set(), "documents no client ran"
