"""What a device may state in its own journal: the kinds its role writes, about itself and its location.

A signed entry is the device's word, and central applies it even when it breaks a business
rule (the cash has already moved, DESIGN §4). But a counter cannot mint credits, a kiosk
cannot sell at a counter, and no device speaks for another device or another location: an
entry like that is not a fact that happened, it is a device that is broken or not ours any
more. Central refuses the batch and quarantines the device, as for a bad signature.
"""

from __future__ import annotations

from shared.bodies import Adjustment, Body

ROLE_KINDS: dict[str, frozenset[str]] = {
    "pos": frozenset({"sale", "redemption", "voucher_redemption", "void", "adjustment", "shift_open", "cash_count", "shift_close"}),
    "kiosk": frozenset({"session_checkout", "game_round", "session_checkin", "voucher_issue"}),
}
"""The entry kinds each device role journals; mint, wholesale transfers and online payments are central's own."""


def authority_refusal(body: Body, *, role: str, device_id: str, location_id: str) -> str | None:
    """Why ``body`` is outside what this device may state (words for the event), or None when it may."""
    if body.kind not in ROLE_KINDS.get(role, frozenset()):
        return f"a {role} does not write {body.kind} entries"
    own = {"location_id": location_id, "pos_id" if role == "pos" else "kiosk_id": device_id}
    for name in ("location_id", "pos_id", "kiosk_id"):
        value = getattr(body, name, None)
        if value is not None and value != own.get(name):
            return f"{body.kind} names {name} {value!r}, not this device's own"
    if isinstance(body, Adjustment):
        # A drawer correction: only accounts of this station and its location (drawer, over/short, safe).
        for posting in body.postings():
            owner = posting.account.split(":", 1)[1]
            if owner not in (device_id, location_id):
                return f"an adjustment may only touch this station's and its location's accounts, not {posting.account}"
    return None
