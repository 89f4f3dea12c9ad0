"""Pure rules about players: age gate, normalised search keys, the PIN lockout, card numbers.

No SQL, no HTTP: the service reads rows, asks these functions, and writes what they decide.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from shared.errors import ValidationError

PLAYER_PIN_RE = re.compile(r"^[0-9]{4,6}\Z")
SURNAME_PREFIX_CHARS = 3
CARD_PREFIX = "PC"
CARD_DIGITS = 10
PHONE_KEY_DIGITS = 9


def parse_date_of_birth(text: str, *, today: dt.date) -> dt.date:
    try:
        born = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"date of birth must be YYYY-MM-DD, got {text!r}") from exc
    if born > today or born.year < 1900:
        raise ValidationError("date of birth is not a plausible date")
    return born


def age_on(born: dt.date, today: dt.date) -> int:
    """Whole years completed on ``today`` (a birthday on 29 February counts from 1 March)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_age(born: dt.date, *, today: dt.date, age_of_majority_years: int) -> int:
    age = age_on(born, today)
    if age < age_of_majority_years:
        raise ValidationError(f"the player is {age}: registration needs {age_of_majority_years} or older", code="under_age")
    return age


def normalise_name(name: str) -> str:
    cleaned = " ".join(name.casefold().split())
    if not cleaned:
        raise ValidationError("a player needs a name")
    return cleaned


def surname_prefix(name: str) -> str:
    """The first letters of the last word of a name: what a surname search indexes."""
    return normalise_name(name).split(" ")[-1][:SURNAME_PREFIX_CHARS]


def normalise_phone(phone: str) -> str:
    """Digits only (a leading + kept), so "+1 (555) 010-2000" and "+15550102000" match."""
    text = phone.strip()
    digits = re.sub(r"[^0-9]", "", text)
    if not 6 <= len(digits) <= 15:
        raise ValidationError("a phone number has 6 to 15 digits")
    return ("+" if text.startswith("+") else "") + digits


def phone_search_key(phone: str) -> str:
    """The last digits of a normalised phone: the same number typed with or without its country
    code (+1 555 010 2000 / 555-010-2000) finds the same player."""
    return normalise_phone(phone).lstrip("+")[-PHONE_KEY_DIGITS:]


def check_player_pin(pin: str) -> str:
    if not PLAYER_PIN_RE.match(pin):
        raise ValidationError("a player PIN is 4 to 6 digits")
    return pin


def new_card_number() -> str:
    return CARD_PREFIX + "".join(secrets.choice("0123456789") for _ in range(CARD_DIGITS))


def name_matches(full_name: str, query: str) -> bool:
    """A decrypted candidate matches when every word of the query starts one of its words, in order,
    with the last query word matching the surname."""
    words, wanted = normalise_name(full_name).split(" "), normalise_name(query).split(" ")
    if not words[-1].startswith(wanted[-1]):
        return False
    rest = iter(words[:-1])
    return all(any(word.startswith(w) for word in rest) for w in wanted[:-1])


@dataclass(frozen=True, slots=True)
class PinState:
    failures: int
    window_start_s: int | None
    locked_until_s: int | None


def is_locked(state: PinState, now_s: int) -> bool:
    return state.locked_until_s is not None and now_s < state.locked_until_s


def after_failure(state: PinState, now_s: int, *, max_failures: int, window_s: int, lockout_s: int) -> PinState:
    """One more wrong PIN: failures count within a window; the one that reaches the maximum locks."""
    in_window = state.window_start_s is not None and now_s - state.window_start_s < window_s
    failures = state.failures + 1 if in_window else 1
    start = state.window_start_s if in_window else now_s
    if failures >= max_failures:
        return PinState(0, None, now_s + lockout_s)
    return PinState(failures, start, None)
