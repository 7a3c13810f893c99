"""Which subscription documents show something that depends on *who* the viewer is.

Sockets of one access class (participants of a conversation, strangers watching a bounty) see
the same data, so they share a group, unless the document selects a field whose value depends
on the viewer's identity (a user's own email, phone or status): then each user gets groups of
their own. Every resolver reachable from the Subscription root is listed either here or in
`CLASS_SAFE_FIELDS` (a test holds that true), so a new field cannot leak across a group.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import DocumentNode, FieldNode, TypeInfo, TypeInfoVisitor, Visitor, visit
from strawberry import Schema

# Shown to their owner (and some roles) only: the viewer's identity decides.
# `Bounty.history` too: its hunter sees it, and who the hunter is changes while sockets listen.
IDENTITY_FIELDS = frozenset({"User.email", "User.phone", "User.status", "Bounty.history"})
# Resolvers whose result depends at most on the subscriber's access class (which is part of the
# group key): reads of the event or the database that check the role, never the identity.
CLASS_SAFE_FIELDS = frozenset(
    {
        "Bounty.applications",  # poster and staff: both are access classes of a bounty
        "Bounty.applicationsConnection",  # the same rule, in pages
        "Bounty.hunter",
        "BountyApplication.bounty",
        "BountyApplication.hunter",
        "BountyHistoryEntry.actor",
        "BountyUpdate.bounty",  # a bounty's visibility is decided by poster vs. others
        "Message.sender",
        "Notification.read",
        "ReadReceipt.user",
        "Review.author",
        "Review.bounty",
        "TypingIndicator.user",
        "UnreadCounts.messages",  # a user's own stream: the class is the user
        "UnreadCounts.notifications",
        "User.reviews",
    }
)
_CACHE_SIZE = 1024
_cache: OrderedDict[tuple[int, str], bool] = OrderedDict()


def depends_on_identity(schema: Schema, query: str, document: DocumentNode) -> bool:
    key = (id(schema), query)
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = bool(selected_fields(schema, document) & IDENTITY_FIELDS)
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def selected_fields(schema: Schema, document: DocumentNode) -> set[str]:
    """`Type.field` of every field the document selects (fragments included)."""
    type_info = TypeInfo(schema._schema)
    found: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent = type_info.get_parent_type()
            if parent is not None:
                found.add(f"{parent.name}.{node.name.value}")

    visit(document, TypeInfoVisitor(type_info, Collect()))
    return found
