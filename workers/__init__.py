"""Background jobs on PgQueuer: one module per domain, entrypoints named "<domain>.<verb>"."""
