"""The password policy: a minimum length and a zxcvbn strength estimate, explained when refused.

Breached-password lists are out of scope (the server runs offline); zxcvbn's own dictionaries of
common passwords, names and words ship inside its PyPI package, so the estimate needs no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from zxcvbn import zxcvbn

from server.errors import DomainError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from server.settings import AuthSettings

WEAK_PASSWORD: Final = "weak_password"  # noqa: S105 - an error code, not a secret
"""The stable error code of a refused password (HTTP 422)."""

_ESTIMATE_CHARS = 72
"""What zxcvbn judges: it refuses longer input (it is super-linear in the length), and a
password this long that is weak in its first 72 characters is weak anyway."""

_SCORE_WORDS = ("too guessable", "very guessable", "somewhat guessable", "safely unguessable")


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must meet: ``min_length`` characters and a zxcvbn score ≥ ``min_score``.

    zxcvbn scores 0 (guessed in under 10^3 tries) to 4 (over 10^10); 3 means "safely
    unguessable" against an online attack with throttling, which login has.
    """

    min_length: int = 10
    min_score: int = 3

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> PasswordPolicy:
        """The policy set by ``PASSWORD_MIN_LENGTH`` and ``PASSWORD_MIN_SCORE``."""
        return cls(auth.password_min_length, auth.password_min_score)

    def problems(self, password: str, user_inputs: Iterable[str] = ()) -> list[dict[str, str]]:
        """Each thing wrong with ``password`` as ``{code, message}``; empty when it is acceptable.

        ``user_inputs`` (the email, the name) count as known words: a password built from them is
        weak whatever its length.
        """
        found: list[dict[str, str]] = []
        if len(password) < self.min_length:
            found.append(
                {
                    "code": "too_short",
                    "message": f"use at least {self.min_length} characters "
                    f"(this one has {len(password)})",
                }
            )
        words = [w for value in user_inputs for w in _words(value)]
        if password:
            estimate = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=words)
            score = int(estimate["score"])
            hints = [estimate["feedback"]["warning"], *estimate["feedback"]["suggestions"]]
        else:  # zxcvbn itself fails on the empty string
            score, hints = 0, []
        if score < self.min_score:
            advice = " ".join(h for h in hints if h) or "Add another word or two."
            found.append(
                {
                    "code": "too_weak",
                    "message": f"this password is {_SCORE_WORDS[min(score, 3)]} "
                    f"(strength {score} of 4, at least {self.min_score} needed). {advice}",
                }
            )
        return found

    def check(self, password: str, user_inputs: Iterable[str] = ()) -> None:
        """Raise a 422 ``weak_password`` error listing every problem, or return."""
        problems = self.problems(password, user_inputs)
        if problems:
            raise DomainError(
                WEAK_PASSWORD,
                "the password does not meet the policy: "
                + "; ".join(p["message"] for p in problems),
                problems=problems,
                min_length=self.min_length,
                min_score=self.min_score,
            )


def _words(value: str) -> list[str]:
    """The value and its parts split on email and name punctuation (``ada.l@example.org``)."""
    parts = [value.lower()]
    for sep in "@._- +":
        parts = [p for part in parts for p in part.split(sep)]
    return [value.lower(), *(p for p in parts if len(p) >= 3)]
