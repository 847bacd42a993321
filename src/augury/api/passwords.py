"""Which passwords are too easy to guess: the one rule for registration and password change.

A password is refused if it is shorter than ``PASSWORD_LEN_MIN`` characters, or if the
zxcvbn strength estimator (PyPI ``zxcvbn``, a port of Dropbox's) scores it below
``SCORE_MIN`` on its 0-4 scale: that covers the common-password lists, keyboard rows
(``qwertyuiop``), runs and repeats (``1234567890``, ``aaaaaaaaaa``), dictionary words
with digits or l33t substitutions (``Password2024``, ``p@ssw0rd!!``), dates, and the
username itself or the site's name inside the password. The refusal says why, in the
estimator's own words, so that people can pick a better one.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

PASSWORD_LEN_MIN = 10
SCORE_MIN = 3
"""zxcvbn's "safely unguessable: moderate protection from offline slow-hash scenario"
(about 10^8 guesses and more)."""
ESTIMATED_CHARS_MAX = 72
"""zxcvbn's time grows fast with the length (it refuses more than 72 characters): a
longer password is scored on its first 72, which is plenty to pass."""
SITE_WORDS = ("augury", "prediction", "market", "exchange")


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is too weak (a sentence for the person choosing it), or None."""
    if len(password) < PASSWORD_LEN_MIN:
        return f"the password must have at least {PASSWORD_LEN_MIN} characters"
    inputs = [word for word in (username, *SITE_WORDS) if word]
    found = zxcvbn(password[:ESTIMATED_CHARS_MAX], user_inputs=inputs)
    feedback = found["feedback"]
    warning = str(feedback.get("warning") or "").strip()
    score = int(found["score"])
    rest = _without(password, username)
    if rest != password:  # the username adds (almost) nothing: what is left must do
        without = zxcvbn(rest[:ESTIMATED_CHARS_MAX] or "x", user_inputs=inputs)
        if int(without["score"]) < score:
            score, feedback = int(without["score"]), without["feedback"]
            warning = "this is mostly your username"
    if score >= SCORE_MIN:
        return None
    suggestions = [str(s).strip() for s in feedback.get("suggestions") or () if str(s).strip()]
    parts = ["the password is too easy to guess"]
    if warning:
        parts.append(warning.rstrip(".").lower() if warning[:1].isupper() else warning)
    message = ": ".join(parts) + "."
    if suggestions:
        message += " " + " ".join(s if s.endswith(".") else s + "." for s in suggestions)
    elif not warning:
        message += " Use a longer phrase of several uncommon words."
    return message


def _without(password: str, username: str) -> str:
    """``password`` with every occurrence of ``username`` (any case) removed."""
    if len(username) < 3:
        return password
    lowered, name, kept, at = password.lower(), username.lower(), [], 0
    while (found := lowered.find(name, at)) >= 0:
        kept.append(password[at:found])
        at = found + len(name)
    kept.append(password[at:])
    return "".join(kept)
