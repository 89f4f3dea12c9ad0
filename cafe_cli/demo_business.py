"""The demo's business, as data: who is in the hierarchy, who works the counter, who plays.

Pure (no I/O): ``cafe demo`` seeds central from this through the real service functions,
and the scripted day reads the same names and PINs, so the summary a person reads and
the logins printed for them come from one place. Money is integer minor units; a credit
is 100 units, as everywhere in the suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pos_app.rules import DENOMINATIONS_UNITS

CURRENCY = "USD"
HEAD_OFFICE = "head-office"
LOCATION_NAME = "Lucky Star Cafe"


@dataclass(frozen=True)
class Node:
    node_id: str
    kind: str
    name: str
    parent_id: str
    credit_line_units: int  # cash minor units the parent lets it owe
    buys_units: int  # credit units it buys from its parent during setup
    price_per_credit_units: int  # what it pays the parent per whole credit (cash minor units)


@dataclass(frozen=True)
class Staff:
    name: str
    role: str  # shared.device_config.STAFF_ROLES
    pin: str


@dataclass(frozen=True)
class Player:
    full_name: str
    date_of_birth: str
    phone: str
    pin: str  # the kiosk PIN (4–6 digits)
    id_number: str = ""


ISSUANCE_LIMIT_UNITS = 10_000_000_00  # credits head office may ever mint
MINT_UNITS = 1_000_000_00
NODES = (
    Node("sunbelt", "master_distributor", "Sunbelt Amusements", HEAD_OFFICE, 500_000_00, 400_000_00, 70),
    Node("coastal", "distributor", "Coastal Gaming Supply", "sunbelt", 200_000_00, 150_000_00, 80),
    Node("lucky-star", "location", LOCATION_NAME, "coastal", 100_000_00, 50_000_00, 90),
)
LOCATION_ID = NODES[-1].node_id

STAFF = (
    Staff("Sam Rivera", "cashier", "1111"),
    Staff("Jo Chen", "cashier", "2222"),
    Staff("Mia Lopez", "manager", "9999"),
    Staff("Tess Park", "technician", "2468"),
    Staff("Olu Adams", "owner", "7777"),
)
OWNER_USERNAME = "owner"  # the location owner's console user
OWNER_DISPLAY = "Olu Adams"

PLAYERS = (
    Player("Ada Lovelace", "1985-12-10", "+1 555 010 1001", "1815"),
    Player("Grace Hopper", "1976-12-09", "+1 555 010 1002", "1906", "D1234567"),
    Player("Alan Turing", "1982-06-23", "+1 555 010 1003", "1912"),
    Player("Katherine Johnson", "1968-08-26", "+1 555 010 1004", "1918"),
    Player("Linus Park", "1994-03-14", "+1 555 010 1005", "3141"),
    Player("Maria Gomez", "1990-07-04", "+1 555 010 1006", "7040"),
    Player("Dev Patel", "1988-11-02", "+1 555 010 1007", "1102"),
    Player("Nora Quinn", "1979-02-17", "+1 555 010 1008", "2171"),
    Player("Omar Haddad", "1991-09-30", "+1 555 010 1009", "9309"),
    Player("Priya Nair", "1996-01-21", "+1 555 010 1010", "2101"),
    Player("Tom Becker", "1972-05-05", "+1 555 010 1011", "5555"),
    Player("Zoe Adler", "1999-10-12", "+1 555 010 1012", "1012"),
)

SHIFT_FLOAT_COUNTS: Mapping[int, int] = {2000: 5, 1000: 5, 500: 4, 100: 30}  # 200.00 in the drawer to start
SAFE_BUNDLE_UNITS = 100_00  # a payout bigger than the drawer: the manager brings cash from the safe in 100.00 bundles


@dataclass(frozen=True)
class CounterSale:
    """One sale of the scripted day: who (an index into PLAYERS), how many credits, how it is paid."""

    player: int
    amount_units: int
    tendered_units: int = 0  # cash handed over; 0 is the exact amount
    card_ref: str = ""  # the card terminal's reference of a card payment (empty: cash)


@dataclass(frozen=True)
class KioskVisit:
    """A player's session at the kiosk: rounds per game, in order, then where the credits go."""

    player: int
    rounds: tuple[tuple[str, int], ...]  # (game id, rounds)
    cash_out: str  # "ticket" (a voucher the counter pays) or "wallet"


COUNTER_SALES = (
    CounterSale(0, 50_00, 60_00),
    CounterSale(1, 40_00),
    CounterSale(2, 100_00, card_ref="T-40917"),
    CounterSale(3, 20_00, 20_00),
    CounterSale(4, 25_00, 30_00),
    CounterSale(5, 60_00, 100_00),
    CounterSale(6, 10_00),
    CounterSale(7, 30_00, 50_00),
)
OFFLINE_SALE = CounterSale(8, 15_00, 20_00)  # sold while central is down
WALLET_PAYOUT = (5, 25_00)  # (player, credits) paid from the wallet in cash: needs central
KIOSK_VISITS = (
    KioskVisit(0, (("fruit-fiesta", 10), ("lucky-keno", 6), ("gold-rush-scratch", 6)), "ticket"),
    KioskVisit(1, (("fruit-fiesta", 4), ("lucky-keno", 2)), "wallet"),
)


def planned_rounds() -> int:
    return sum(n for visit in KIOSK_VISITS for _game, n in visit.rounds)


def planned_sales() -> int:
    return len(COUNTER_SALES) + 1  # and the offline sale


def staff_of(role: str) -> Staff:
    """The first staff member of ``role`` (the one the scripted day signs in as)."""
    return next(s for s in STAFF if s.role == role)


def safe_top_up(payout_units: int, drawer_units: int) -> int:
    """Cash to bring from the safe so the drawer can pay ``payout_units``: whole bundles, or nothing."""
    short = payout_units - drawer_units
    return 0 if short <= 0 else -(-short // SAFE_BUNDLE_UNITS) * SAFE_BUNDLE_UNITS


def count_for(amount_units: int) -> dict[int, int]:
    """Notes and coins that make ``amount_units`` exactly, largest first (a cashier's count)."""
    if amount_units < 0:
        raise ValueError("a drawer count is never negative")
    counts: dict[int, int] = {}
    rest = amount_units
    for denomination in DENOMINATIONS_UNITS:
        pieces, rest = divmod(rest, denomination)
        if pieces:
            counts[denomination] = pieces
    assert rest == 0, "the smallest denomination is one minor unit"
    return counts
