"""Password rules (NIST 800-63B style): long enough, not a known-common password, not the email.

No composition rules: length and a blocklist stop more guessing than "one digit, one symbol".
"""

from __future__ import annotations

from services.identity_errors import WeakPassword

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; this bounds the work an attacker can ask of it

# Passwords of 10+ characters that top the public breach-corpus frequency lists.
_COMMON = """
    1234567890 0123456789 0987654321 1111111111 0000000000 1234512345 1122334455 1q2w3e4r5t
    1qaz2wsx3edc qwertyuiop qwerty1234 qwerty12345 qwerty123456 asdfghjkl; asdfghjkl1
    zxcvbnm123 password12 password123 password1234 password12345 passw0rd123 p@ssw0rd12
    p@ssword123 iloveyou12 iloveyou123 abcdefghij abcd123456 abc1234567 123456789a
    123456789q a123456789 q123456789 1234567890q 987654321a 12345678910 123123123123
    123456123456 princess123 sunshine12 sunshine123 football12 football123 baseball12
    baseball123 basketball superman12 superman123 starwars12 starwars123 dragon1234
    monkey1234 letmein123 letmein1234 welcome123 welcome1234 trustno123 trustno1234
    computer12 computer123 liverpool1 liverpool12 chocolate1 chocolate12 butterfly1
    butterfly12 michael123 jennifer12 jessica123 charlie123 whatever12 whatever123
    qazwsxedc1 qazwsxedcrfv 1qazxsw23edc zaq12wsxcde changeme12 changeme123 administrator
    admin12345 admin123456 bountyexpo bountyexpo1 bountyexpo123 secret1234 secret12345
    mypassword mypassword1 mypassword123 internet12 samsung123 pokemon123 minecraft1
    minecraft12
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())


def check_password(password: str, *, email: str, field: str = "input.password") -> None:
    """Raise WeakPassword naming the rule `password` breaks."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters", field=field)
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"use at most {MAX_LENGTH} characters", field=field)
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        raise WeakPassword("this password is too common; choose another", field=field)
    if lowered == email.lower() or lowered == email.lower().partition("@")[0]:
        raise WeakPassword("the password must not be your email address", field=field)
