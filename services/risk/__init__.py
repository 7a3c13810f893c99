"""Risk: scores from weighted signals, actions staff take, and the checks money flows call.

- `signals.py`: the signals of one user, read in one statement, and their weights.
- `assessments.py`: `assess` (score, level, signals; recorded), `risk_assessments` (by level).
- `actions.py`: `take_risk_action` (FLAG, REQUIRE_VERIFICATION, RESTRICT_PAYMENTS,
  RESTRICT_PAYOUTS, SUSPEND, CLEAR), audited.
- `checks.py`: `check(session, user_id, action)`, called before funding, release and payout.
- `fingerprints.py`: `record_fingerprint` for a card or device seen for a user.
"""
