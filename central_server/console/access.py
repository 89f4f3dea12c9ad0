"""Who may do what, where: the console's access rules as pure data and functions.

A user has one role and one node. What the role may do is a fixed set of actions
(``ROLE_ACTIONS``); where it may do it is the user's subtree (its node and everything
below). Anything not listed is denied: a route without a declared action is refused
(``web.enforce_access``), an unknown role has no actions.

Some actions change what a parent sets for a child (limits, credit lines, a node's
name): those are ``STRICT_ACTIONS`` and need a node strictly below the user's own, so a
distributor cannot raise its own credit line. Head office has no parent, so its admins
may set them on the root.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ROLES = ("head_office_admin", "distributor_admin", "location_owner", "cashier", "technician", "auditor")
ROLE_LABELS = {
    "head_office_admin": "Head-office admin",
    "distributor_admin": "Distributor admin",
    "location_owner": "Location owner",
    "cashier": "Cashier",
    "technician": "Technician",
    "auditor": "Auditor (read-only)",
}
TOTP_ROLES = frozenset({"head_office_admin", "distributor_admin"})
"""Roles that must use a second factor (DESIGN §7)."""

VIEW = "view"
NODES_MANAGE = "nodes.manage"
USERS_MANAGE = "users.manage"
CREDITS_MINT = "credits.mint"
CREDITS_SELL = "credits.sell"
CREDITS_TERMS = "credits.terms"
LIMITS_EDIT = "limits.edit"
STAFF_MANAGE = "staff.manage"
DEVICES_VIEW = "devices.view"
DEVICES_MANAGE = "devices.manage"
EVENTS_VIEW = "events.view"
EVENTS_ACK = "events.ack"
AUDIT_VIEW = "audit.view"
REPORTS_VIEW = "reports.view"
PAYMENTS_VIEW = "payments.view"
PAYMENTS_REVIEW = "payments.review"  # approve or reject a held online payment
PAYMENTS_REFUND = "payments.refund"  # give a credited online payment back
PAYMENTS_CONFIGURE = "payments.configure"  # which providers the counter and the kiosks offer for top-ups

ACTIONS = (VIEW, NODES_MANAGE, USERS_MANAGE, CREDITS_MINT, CREDITS_SELL, CREDITS_TERMS, LIMITS_EDIT, STAFF_MANAGE,
           DEVICES_VIEW, DEVICES_MANAGE, EVENTS_VIEW, EVENTS_ACK, AUDIT_VIEW, REPORTS_VIEW, PAYMENTS_VIEW, PAYMENTS_REVIEW,
           PAYMENTS_REFUND, PAYMENTS_CONFIGURE)
STRICT_ACTIONS = frozenset({NODES_MANAGE, CREDITS_TERMS, LIMITS_EDIT})

_READ = frozenset({VIEW, DEVICES_VIEW, EVENTS_VIEW, AUDIT_VIEW, REPORTS_VIEW, PAYMENTS_VIEW})
# Who reviews, refunds and configures payments follows ``payments.rules.PERMISSIONS`` (a test holds the two
# together): owners review their own location's held payments, only admins refund and choose the top-up channels.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "head_office_admin": frozenset(ACTIONS),
    "distributor_admin": frozenset(ACTIONS) - {CREDITS_MINT},
    "location_owner": frozenset({VIEW, USERS_MANAGE, STAFF_MANAGE, DEVICES_VIEW, DEVICES_MANAGE, EVENTS_VIEW, EVENTS_ACK,
                                 REPORTS_VIEW, PAYMENTS_VIEW, PAYMENTS_REVIEW}),
    "technician": frozenset({VIEW, DEVICES_VIEW, DEVICES_MANAGE, EVENTS_VIEW}),
    "cashier": frozenset({VIEW}),
    "auditor": _READ,
}

# Which roles a user of each role may create (never one above its own), and at which node kinds.
GRANTABLE: dict[str, tuple[str, ...]] = {
    "head_office_admin": ROLES,
    "distributor_admin": ("distributor_admin", "location_owner", "cashier", "technician", "auditor"),
    "location_owner": ("cashier", "technician", "auditor"),
}
ROLE_NODE_KINDS: dict[str, tuple[str, ...]] = {
    "head_office_admin": ("head_office",),
    "distributor_admin": ("master_distributor", "distributor"),
    "location_owner": ("location",),
    "cashier": ("location",),
    "technician": ("location",),
    "auditor": ("head_office", "master_distributor", "distributor", "location"),
}


def may(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` somewhere (deny by default)."""
    return action in ROLE_ACTIONS.get(role, frozenset())


@dataclass(frozen=True)
class Tree:
    """The hierarchy as parent links: small (hundreds of nodes), loaded once per request."""

    parents: dict[str, str | None]

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str | None]]) -> Tree:
        return cls({node_id: parent for node_id, parent in rows})

    def ancestors(self, node_id: str) -> list[str]:
        """``node_id`` and every node above it, nearest first (bounded by the tree's size)."""
        path: list[str] = []
        current: str | None = node_id
        while current is not None and current in self.parents and len(path) <= len(self.parents):
            path.append(current)
            current = self.parents[current]
        return path

    def within(self, node_id: str, root_id: str) -> bool:
        """Whether ``node_id`` is ``root_id`` or below it."""
        return root_id in self.ancestors(node_id)

    def subtree(self, root_id: str) -> set[str]:
        return {n for n in self.parents if self.within(n, root_id)}

    def children(self, node_id: str) -> list[str]:
        return sorted(n for n, p in self.parents.items() if p == node_id)

    def is_root(self, node_id: str) -> bool:
        return node_id in self.parents and self.parents[node_id] is None


def allowed(tree: Tree, *, role: str, user_node: str, action: str, target_node: str | None) -> bool:
    """The whole rule: the role has the action, and the target (if any) lies in the user's subtree.

    ``target_node`` is None for pages that show only what is inside the subtree anyway
    (lists filter by it). A target that does not exist is treated as outside.
    """
    if not may(role, action):
        return False
    if target_node is None:
        return True
    if target_node not in tree.parents or not tree.within(target_node, user_node):
        return False
    return not (action in STRICT_ACTIONS and target_node == user_node and not tree.is_root(user_node))


def grantable_roles(role: str, node_kind: str) -> tuple[str, ...]:
    """Roles a user of ``role`` may give to a new user at a node of ``node_kind``."""
    return tuple(r for r in GRANTABLE.get(role, ()) if node_kind in ROLE_NODE_KINDS[r])
