"""The password policy: length, the common-password list, not the email."""

from __future__ import annotations

import pytest

from services.identity_errors import WeakPassword
from services.password_policy import check_password


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("123456789", "use at least 10 characters"),
        ("x" * 257, "use at most 256 characters"),
        ("Password123", "this password is too common; choose another"),
        ("QWERTYUIOP", "this password is too common; choose another"),
        ("Jane.Doe@Example.test", "the password must not be your email address"),
        ("jane.doe12", "the password must not be your email address"),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    email = "jane.doe12@example.test" if password == "jane.doe12" else "jane.doe@example.test"
    with pytest.raises(WeakPassword) as raised:
        check_password(password, email=email)
    assert (raised.value.message, raised.value.field) == (message, "input.password")


def test_a_long_uncommon_password_passes() -> None:
    check_password("correct horse battery staple", email="jane.doe@example.test")
