"""What admins see: users with their risk and history, the audit log, the dashboard.

- `users.py`: `admin_users` (search and filters, one statement a page) and a user's history.
- `audit_log.py`: `audit_events` (filtered, newest first).
- `money.py`: the ledger's figures the dashboard and a user's history show, behind one seam.
"""
