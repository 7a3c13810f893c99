"""The deployable gateway: assembly and cross-cutting concerns, no domain rules."""
