"""Health checks now; metrics, tracing and alerts join with the observability work."""
