"""Business rules and all SQL. No GraphQL or HTTP types here (checked by import-linter)."""
