"""Inputs, payloads and result unions of the messaging mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from schema.errors import AccountSuspendedError, InvalidInputError, NotAllowedError, NotFoundError
from schema.messaging import Conversation, Message, ReadReceipt


@strawberry.input
class StartConversationInput:
    bounty_id: relay.GlobalID
    with_user_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The applicant or hunter to talk to (posters must say); applicants and "
        "hunters talk to the poster.",
    )
    direct: bool = strawberry.field(
        default=False,
        description="A direct conversation with that person, not tied to this bounty.",
    )


@strawberry.input
class SendMessageInput:
    conversation_id: relay.GlobalID
    body: str = strawberry.field(description="Plain text, 1 to 4,000 characters.")
    client_message_id: str = strawberry.field(
        description="Your own unique id for this send (a UUID): retrying with the same id never "
        "stores the message twice and returns the first one."
    )
    attachments: list[str] = strawberry.field(
        default_factory=list, description="Up to 5 https:// links."
    )


@strawberry.input
class MarkConversationReadInput:
    conversation_id: relay.GlobalID
    up_to_message_id: relay.GlobalID


@strawberry.type
class StartConversationSuccess:
    conversation: Conversation


@strawberry.type
class SendMessageSuccess:
    sent: Message = strawberry.field(
        description="The message as stored (named so, not `message`, which UserError has)."
    )


@strawberry.type
class MarkConversationReadSuccess:
    receipt: ReadReceipt


@strawberry.type
class SetTypingSuccess:
    published: bool = strawberry.field(
        description="False when throttled: one indicator per conversation every few seconds."
    )


@strawberry.type
class LeaveConversationSuccess:
    conversation_id: strawberry.ID


StartConversationResult = Annotated[
    StartConversationSuccess
    | NotFoundError
    | NotAllowedError
    | InvalidInputError
    | AccountSuspendedError,
    strawberry.union("StartConversationResult"),
]
SendMessageResult = Annotated[
    SendMessageSuccess | NotFoundError | InvalidInputError | AccountSuspendedError,
    strawberry.union("SendMessageResult"),
]
MarkConversationReadResult = Annotated[
    MarkConversationReadSuccess | NotFoundError, strawberry.union("MarkConversationReadResult")
]
SetTypingResult = Annotated[SetTypingSuccess | NotFoundError, strawberry.union("SetTypingResult")]
LeaveConversationResult = Annotated[
    LeaveConversationSuccess | NotFoundError, strawberry.union("LeaveConversationResult")
]
