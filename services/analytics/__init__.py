"""Analytics: events in, rollups out.

- `events.py`: `track_events` (the app's batches, validated), `record` (server-side events from
  domain actions, in their transaction) and `analytics_events` (admins' filtered list).
- `rollups.py`: hourly and daily rollups (idempotent: a bucket is replaced whole), re-runnable
  for any past window, and the metric definitions.
- `metrics.py`: `analytics_metrics` and the conversion funnel, read from the rollups only.
"""
