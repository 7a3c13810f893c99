"""Database access: engine and sessions, the embedded server, models and migrations."""
