"""Authentication, authorization and limits."""
