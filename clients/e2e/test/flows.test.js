// The seven client flows through Apollo Client against a running gateway (API_BASE_URL):
// two users (and a rival hunter) from sign-up to a completed, reviewed bounty. Run by
// tests/clients/test_node_flows.py, which starts the gateway, worker, Redis, push and mail
// servers, then checks the pushes and mails this run caused and E2E_REPORT's list of documents.
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { after, test } from "node:test";
import { createAppClient, errorCode } from "../src/appClient.js";
import { loadCatalog } from "../src/operations.js";
import { pngFile } from "../src/png.js";

const BASE = process.env.API_BASE_URL ?? "http://127.0.0.1:8000";
const JWT_SECRET = process.env.E2E_JWT_SECRET ?? "dev-only-jwt-secret-do-not-use-in-production";
const PASSWORD = "correct horse battery staple";
const catalog = loadCatalog();
const clients = [];

after(async () => {
  await Promise.all(clients.map((client) => client.stop()));
  if (process.env.E2E_REPORT) {
    writeFileSync(process.env.E2E_REPORT, JSON.stringify({ used: [...catalog.used].sort() }));
  }
});

function app(name) {
  const client = createAppClient({ baseUrl: BASE, catalog, name });
  clients.push(client);
  return client;
}

async function rejects(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
}

// An access token of the same session that expired an hour ago: the app after a night asleep.
function expired(token) {
  const [header, payload] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url"));
  const past = Math.floor(Date.now() / 1000) - 3600;
  const body = Buffer.from(
    JSON.stringify({ ...claims, iat: past - 900, nbf: past - 900, exp: past, jti: randomUUID() }),
  ).toString("base64url");
  const signature = createHmac("sha256", JWT_SECRET).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}

// graphql-transport-ws does not acknowledge a subscribe: repeat a probe until it shows up.
async function live(probe, listener, where = () => true) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await probe();
    try {
      for (;;) {
        const event = await listener.next(500);
        if (where(event)) return event;
      }
    } catch (error) {
      if (!String(error.message).includes("no ")) throw error;
    }
  }
  throw new Error("the subscription never went live");
}

async function signUp(client, email, displayName) {
  const variables = {
    input: { email, password: PASSWORD, displayName, idempotencyKey: randomUUID() },
  };
  const first = (await client.run("SignUp", variables)).signUp;
  assert.equal(first.__typename, "SignUpSuccess");
  const again = (await client.run("SignUp", variables)).signUp; // a retry after a lost answer
  assert.equal(again.user.id, first.user.id);
  client.keep(again.session);
  assert.deepEqual(again.user, {
    __typename: "User",
    id: first.user.id,
    displayName,
    email,
    role: "USER",
  });
  return again.user;
}

test("two users go from sign-up to a reviewed bounty through Apollo Client", async () => {
  const poster = app("poster");
  const hunter = app("hunter");
  const rival = app("rival");

  // authentication
  const posterUser = await signUp(poster, "priya@example.com", "Priya Poster");
  const hunterUser = await signUp(hunter, "hugo@example.com", "Hugo Hunter");
  await signUp(rival, "rita@example.com", "Rita Rival");
  const out = await hunter.run("SignOut", { refreshToken: hunter.state.refreshToken });
  assert.deepEqual(out.signOut, { __typename: "SignOutSuccess", signedOut: true });
  const refused = await rejects(hunter.run("Viewer"));
  assert.equal(errorCode(refused), "UNAUTHENTICATED");
  assert.deepEqual([hunter.state.accessToken, hunter.state.refreshToken], [null, null]);
  const signedIn = await hunter.run("SignIn", {
    input: { email: "hugo@example.com", password: PASSWORD },
  });
  assert.equal(signedIn.signIn.user.id, hunterUser.id);
  hunter.keep(signedIn.signIn.session);

  // profile
  const viewer = (await hunter.run("Viewer")).viewer;
  assert.deepEqual([viewer.id, viewer.email, viewer.status], [hunterUser.id, "hugo@example.com", "ACTIVE"]);
  const profileUpdate = await hunter.run("UpdateProfile", {
    input: { bio: "Fixes things.", skills: ["plumbing", "tiling"] },
  });
  assert.deepEqual(profileUpdate.updateProfile.user.skills, ["plumbing", "tiling"]);
  const avatar = await hunter.run("UploadAvatar", { file: pngFile(64, 48) });
  assert.equal(avatar.uploadAvatar.__typename, "UploadAvatarSuccess");
  const avatarUrl = avatar.uploadAvatar.user.avatarUrl;
  assert.ok(avatarUrl.startsWith(`${BASE}/media/`), avatarUrl);
  assert.equal((await fetch(avatarUrl)).status, 200);
  const seen = (await poster.run("Profile", { id: hunterUser.id })).profile;
  assert.deepEqual([seen.bio, seen.avatarUrl, seen.reviewCount], ["Fixes things.", avatarUrl, 0]);

  // notifications setup
  for (const [client, device] of [[poster, "poster-phone-1"], [hunter, "hunter-phone-1"]]) {
    const registered = await client.run("RegisterPushToken", {
      input: { token: `ExponentPushToken[${device}-token]`, platform: "ANDROID", deviceId: device },
    });
    assert.deepEqual(registered.registerPushToken, {
      __typename: "RegisterPushTokenSuccess",
      deviceId: device,
      platform: "ANDROID",
    });
  }
  const preferences = (await hunter.run("NotificationPreferences")).notificationPreferences;
  const acceptedChannels = preferences.channels.find((c) => c.type === "APPLICATION_ACCEPTED");
  assert.deepEqual([acceptedChannels.inApp, acceptedChannels.push, acceptedChannels.email], [true, true, true]);
  const changed = await hunter.run("UpdateNotificationPreferences", {
    input: {
      timeZone: "America/New_York",
      channels: [{ type: "NEW_MESSAGE", channel: "PUSH", enabled: false }],
    },
  });
  assert.equal(changed.updateNotificationPreferences.preferences.timeZone, "America/New_York");

  // bounty creation
  assert.ok((await poster.run("BountyCategories")).bountyCategories.includes("handyman"));
  const create = {
    input: {
      title: "Fix a leaking tap",
      description: "Kitchen tap drips day and night.",
      category: "handyman",
      reward: { amount: 5000, currency: "USD" },
      remote: false,
      idempotencyKey: randomUUID(),
    },
  };
  const created = (await poster.run("CreateBounty", create)).createBounty;
  assert.equal(created.__typename, "BountySuccess");
  assert.equal(created.bounty.status, "DRAFT");
  const bountyId = created.bounty.id;
  assert.equal((await poster.run("CreateBounty", create)).createBounty.bounty.id, bountyId);
  const edited = await poster.run("UpdateBounty", {
    input: { bountyId, title: "Fix a leaking kitchen tap" },
  });
  assert.equal(edited.updateBounty.bounty.title, "Fix a leaking kitchen tap");
  const images = [];
  for (const [width, height] of [[320, 240], [200, 200]]) {
    const added = await poster.run("AddBountyImage", { bountyId, file: pngFile(width, height) });
    assert.equal(added.addBountyImage.__typename, "BountyImageSuccess");
    images.push(added.addBountyImage.image);
  }
  assert.deepEqual(images.map((i) => [i.width, i.height]), [[320, 240], [200, 200]]);
  const removed = await poster.run("RemoveBountyImage", { imageId: images[1].id });
  assert.deepEqual(removed.removeBountyImage.bounty.images.map((i) => i.id), [images[0].id]);
  // Save a card (a test id is saved at once; the sheet path waits for the app), then fund with it.
  const saved = (await poster.run("AddPaymentMethod", {
    input: { paymentMethodId: "pm_card_visa", idempotencyKey: randomUUID() },
  })).addPaymentMethod;
  assert.equal(saved.setup.status, "SUCCEEDED");
  const card = saved.paymentMethod;
  assert.deepEqual([card.brand, card.last4, card.isDefault], ["visa", "4242", true]);
  const spare = (await poster.run("AddPaymentMethod", {
    input: { paymentMethodId: "pm_card_mastercard" },
  })).addPaymentMethod.paymentMethod;
  const made = (await poster.run("SetDefaultPaymentMethod", { input: { id: spare.id } }))
    .setDefaultPaymentMethod;
  assert.deepEqual(made.paymentMethods.filter((m) => m.isDefault).map((m) => m.id), [spare.id]);
  const dropped = (await poster.run("RemovePaymentMethod", { input: { id: spare.id } }))
    .removePaymentMethod;
  assert.deepEqual(dropped.paymentMethods.map((m) => [m.id, m.isDefault]), [[card.id, true]]);
  const cards = (await poster.run("PaymentMethods", {})).paymentMethods;
  assert.deepEqual(cards.map((m) => m.id), [card.id]);
  const publish = { input: { bountyId, idempotencyKey: randomUUID(), paymentMethodId: card.id } };
  const published = (await poster.run("PublishBounty", publish)).publishBounty;
  assert.equal(published.__typename, "PublishBountySuccess");
  assert.equal(published.bounty.status, "OPEN");
  assert.equal(published.payment.status, "SUCCEEDED");
  assert.deepEqual((await poster.run("PublishBounty", publish)).publishBounty, published);
  const mine = (await poster.run("MyBounties", { status: ["OPEN"], first: 10 })).myBounties;
  assert.deepEqual(mine.edges.map((e) => e.node.id), [bountyId]);

  // live: the poster watches the bounty and their notifications
  const posterBounty = poster.listen("BountyUpdated", { id: bountyId });
  const posterNotes = poster.listen("NotificationAdded");
  await live(
    () => poster.run("UpdateBounty", { input: { bountyId, description: "Drips a lot." } }),
    posterBounty,
  );
  while (posterBounty.pending()) await posterBounty.next();

  // applications
  const found = await hunter.run("Bounties", {
    filter: { category: "handyman", text: "tap", minReward: 1000 },
    first: 5,
  });
  assert.deepEqual(found.bounties.edges.map((e) => e.node.id), [bountyId]);
  const detail = (await hunter.run("Bounty", { id: bountyId })).bounty;
  assert.deepEqual([detail.status, detail.applications, detail.history], ["OPEN", null, null]);
  const applied = (
    await hunter.run("ApplyToBounty", {
      input: { bountyId, message: "I can come tomorrow.", proposedAmount: 4500, idempotencyKey: randomUUID() },
    })
  ).applyToBounty;
  assert.equal(applied.application.status, "PENDING");
  const applicationId = applied.application.id;
  const update = (await posterBounty.next()).bountyUpdated;
  assert.deepEqual([update.applications, update.bounty.applicationCount], ["submitted", 1]);
  const rivalApplied = await rival.run("ApplyToBounty", {
    input: { bountyId, message: "Me too.", idempotencyKey: randomUUID() },
  });
  const rivalApplication = rivalApplied.applyToBounty.application.id;
  const received = (await posterNotes.next()).notificationAdded;
  assert.deepEqual([received.type, received.title], ["APPLICATION_RECEIVED", "New application"]);
  const rejected = await poster.run("RejectApplication", { input: { applicationId: rivalApplication } });
  assert.equal(rejected.rejectApplication.application.status, "REJECTED");
  const listed = (await hunter.run("MyApplications", { first: 5 })).myApplications;
  assert.deepEqual(listed.edges.map((e) => [e.node.id, e.node.status]), [[applicationId, "PENDING"]]);

  // messaging
  const started = await poster.run("StartConversation", {
    input: { bountyId, withUserId: hunterUser.id },
  });
  const conversationId = started.startConversation.conversation.id;
  const hunterMessages = hunter.listen("MessageAdded", { conversationId });
  const hunterNotes = hunter.listen("NotificationAdded");
  const hunterBadges = hunter.listen("UnreadCountsChanged");
  const hunterTyping = hunter.listen("Typing", { conversationId });
  const posterMessages = poster.listen("MessageAdded", { conversationId });
  const posterReceipts = poster.listen("MessageRead", { conversationId });
  const posterTyping = poster.listen("Typing", { conversationId });
  const typed = await live(
    () => poster.run("SetTyping", { conversationId }),
    hunterTyping,
    (event) => event.typing.user.id === posterUser.id,
  );
  assert.equal(typed.typing.user.displayName, "Priya Poster");
  await live(
    () => hunter.run("SetTyping", { conversationId }),
    posterTyping,
    (event) => event.typing.user.id === hunterUser.id,
  );
  const sent = await poster.run("SendMessage", {
    input: { conversationId, body: "Can you bring a spare washer?", clientMessageId: randomUUID() },
  });
  const message = sent.sendMessage.sent;
  const arrived = (await hunterMessages.next()).messageAdded;
  assert.deepEqual([arrived.id, arrived.body, arrived.sender.id], [message.id, message.body, posterUser.id]);
  assert.equal((await hunterBadges.next()).unreadCounts.messages, 1);
  assert.equal((await hunter.run("UnreadCounts")).unreadCounts.messages, 1);
  const inbox = (await hunter.run("Conversations", { first: 10 })).conversations;
  assert.deepEqual(inbox.edges.map((e) => [e.node.id, e.node.unreadCount]), [[conversationId, 1]]);
  const history = (await hunter.run("Messages", { conversationId })).messages;
  assert.deepEqual(history.edges.map((e) => e.node.body), ["Can you bring a spare washer?"]);
  await hunter.run("MarkConversationRead", { input: { conversationId, upToMessageId: message.id } });
  const receipt = (await posterReceipts.next()).messageRead;
  assert.deepEqual([receipt.messageId, receipt.user.id], [message.id, hunterUser.id]);
  await hunter.run("SendMessage", {
    input: { conversationId, body: "Yes, I have one.", clientMessageId: randomUUID() },
  });
  const both = [(await posterMessages.next()).messageAdded.body, (await posterMessages.next()).messageAdded.body];
  assert.deepEqual(both, ["Can you bring a spare washer?", "Yes, I have one."]);
  // A reconnecting app resubscribes with the last message it has: what it missed comes first.
  const resumed = hunter.listen("MessageAdded", { conversationId, after: message.id });
  assert.equal((await resumed.next()).messageAdded.body, "Yes, I have one.");

  // the hunter's access token expires: three requests at once, one refresh
  const rotatedFrom = hunter.state.refreshToken;
  hunter.state.accessToken = expired(hunter.state.accessToken);
  const [views, threads, count] = await Promise.all([
    hunter.run("Viewer"),
    hunter.run("Conversations", { first: 1 }),
    hunter.run("UnreadNotificationCount"),
  ]);
  assert.equal(hunter.state.refreshes, 1);
  assert.notEqual(hunter.state.refreshToken, rotatedFrom);
  assert.equal(views.viewer.id, hunterUser.id);
  assert.equal(threads.conversations.edges[0].node.id, conversationId);
  assert.equal(count.unreadNotificationCount, 0);

  // acceptance, work, approval and release, reviews
  const accepted = await poster.run("AcceptApplication", { input: { applicationId } });
  assert.equal(accepted.acceptApplication.bounty.status, "ASSIGNED");
  const note = (await hunterNotes.next()).notificationAdded;
  assert.deepEqual([note.type, note.title], ["APPLICATION_ACCEPTED", "Your application was accepted"]);
  const submitted = await hunter.run("SubmitWork", { input: { bountyId, note: "New washer fitted." } });
  assert.equal(submitted.submitWork.bounty.status, "SUBMITTED");
  const approve = { input: { bountyId, idempotencyKey: randomUUID() } };
  const approved = (await poster.run("ApproveCompletion", approve)).approveCompletion;
  assert.deepEqual(approved, {
    __typename: "BountySuccess",
    bounty: { __typename: "Bounty", id: bountyId, status: "COMPLETED" },
  });
  assert.deepEqual((await poster.run("ApproveCompletion", approve)).approveCompletion, approved);
  const kindsSeen = new Set();
  while (!kindsSeen.has("BOUNTY_COMPLETED") || !kindsSeen.has("PAYMENT_RELEASED")) {
    kindsSeen.add((await hunterNotes.next()).notificationAdded.type);
  }
  // The release reached the hunter's wallet net of the 10 % platform fee.
  const wallet = (await hunter.run("Wallet", { currency: "USD" })).wallet;
  assert.deepEqual([wallet.available, wallet.pending], [4500, 0]);
  const money = (await hunter.run("Transactions", { first: 10 })).transactions;
  assert.deepEqual(money.edges.map((e) => [e.node.type, e.node.amount, e.node.fee]), [["RELEASED", 4500, 500]]);
  // payout: Connect onboarding (the sandbox onboards at once), then the wallet out to the bank
  assert.equal((await hunter.run("PayoutAccount")).payoutAccount.status, "NOT_STARTED");
  const linked = (await hunter.run("PayoutAccountLink")).payoutAccountLink;
  assert.equal(linked.__typename, "PayoutAccountLinkSuccess");
  assert.equal(linked.account.status, "ENABLED");
  const payout = { input: { amount: 4500, currency: "USD", idempotencyKey: randomUUID() } };
  const paidOut = (await hunter.run("RequestPayout", payout)).requestPayout;
  assert.equal(paidOut.__typename, "RequestPayoutSuccess");
  assert.deepEqual([paidOut.payout.status, paidOut.payout.amount], ["IN_TRANSIT", 4500]);
  assert.deepEqual([paidOut.wallet.available, paidOut.wallet.pending], [0, 4500]);
  assert.deepEqual((await hunter.run("RequestPayout", payout)).requestPayout, paidOut);
  const payoutList = (await hunter.run("Payouts", { first: 5 })).payouts.edges;
  assert.deepEqual(payoutList.map((e) => [e.node.id, e.node.status]), [[paidOut.payout.id, "IN_TRANSIT"]]);
  for (const [author, rating] of [[poster, 5], [hunter, 4]]) {
    const reviewed = await author.run("ReviewUser", {
      input: { bountyId, rating, text: "Great to work with." },
    });
    assert.equal(reviewed.reviewUser.review.rating, rating);
  }
  const profile = (await rival.run("Profile", { id: hunterUser.id })).profile;
  assert.deepEqual([profile.rating, profile.reviewCount], [5, 1]);

  // in-app notifications
  const notes = (await hunter.run("Notifications", { first: 20 })).notifications;
  const kinds = notes.edges.map((e) => e.node.type);
  assert.deepEqual([...kinds].sort(), ["APPLICATION_ACCEPTED", "BOUNTY_COMPLETED", "PAYMENT_RELEASED"]);
  assert.equal((await hunter.run("UnreadNotificationCount")).unreadNotificationCount, 3);
  const marked = await hunter.run("MarkNotificationRead", { id: notes.edges[0].node.id });
  assert.equal(marked.markNotificationRead.notification.read, true);
  assert.equal((await hunter.run("MarkAllNotificationsRead")).markAllNotificationsRead.count, 2);
  assert.equal((await hunter.run("UnreadNotificationCount")).unreadNotificationCount, 0);

  // sign out on this device
  const gone = await hunter.run("UnregisterPushToken", { deviceId: "hunter-phone-1" });
  assert.equal(gone.unregisterPushToken.deviceId, "hunter-phone-1");
  const signedOut = await hunter.run("SignOut", { refreshToken: hunter.state.refreshToken });
  assert.equal(signedOut.signOut.signedOut, true);
  const stale = hunter.state.refreshToken;
  hunter.state.accessToken = null;
  const refusedRefresh = await hunter.run("RefreshSession", { refreshToken: stale });
  assert.equal(refusedRefresh.refreshSession.code, "INVALID_REFRESH_TOKEN");
});
