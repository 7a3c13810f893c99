"""Realtime delivery: subscriptions grouped per document, variables and visibility.

A socket's subscription is resolved by strawberry up to its root field (parsing, validation,
limits, subscribe-time authorization). The root field then hands the socket to the `Hub`
(`live.subscription`): sockets with the same document, variables and visibility share one
`Group`, which holds the broker subscription, authorizes each event, resolves it once
(`resolve.resolve_event`, database reads included), serializes it once and sends the same frame
to every member. A member is a few slots, not a task: memory per socket does not grow with the
events it receives, and the publishing request never waits for the fan-out.
"""
