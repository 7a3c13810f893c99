"""Messaging: conversations between people who share a bounty, numbered messages, read receipts.

- `conversations`: start (find or create), list with last message and unread count, leave.
- `messages`: send (deduplicated per sender by client id), history (backwards keyset), replay.
- `reads`: read receipts and unread counts.
- `events`: topics and the broker events subscriptions are built from.
"""
