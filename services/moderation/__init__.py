"""Moderation: users report content, staff review the queue and act on it.

- `targets.py`: what can be reported (bounties, messages, profiles, reviews): its author, who
  may see it, and marking it removed.
- `reports.py`: `report_content` (one open report per reporter and target) and the queue.
- `resolution.py`: `resolve_report` (DISMISS, REMOVE_CONTENT, WARN_USER, SUSPEND_USER).
"""
