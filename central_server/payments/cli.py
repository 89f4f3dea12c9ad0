"""`cafe central payment-account`, `payment-review` and `topup-channel`: provider accounts, the review queue and
which providers a node offers at its counters and kiosks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from central_server.payments.rules import CHANNELS, PROVIDER_NAMES
from shared.errors import CafeError

Action = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register_payments(action: Action) -> None:
    acct = action("payment-account", run_payment_account,
                  "add a Stripe-compatible or BTCPay account for a location or distributor (secrets sealed at rest)")
    acct.add_argument("--node", required=True, help="location or distributor node id; locations below use it")
    acct.add_argument("--provider", required=True, choices=("stripe", "btcpay"))
    acct.add_argument("--base-url", required=True, help="https://api.stripe.com or your BTCPay Server URL")
    acct.add_argument("--credentials", required=True, type=Path,
                      help="JSON file: stripe {secret_key, webhook_secrets[], return_url (kiosk card top-ups)}, "
                           "btcpay {api_key, store_id, webhook_secrets[]}")
    review = action("payment-review", run_payment_review, "list held payments, or approve/reject one with a note")
    review.add_argument("--payment", help="payment id (omit to list the queue)")
    review.add_argument("--decision", choices=("approve", "reject"))
    review.add_argument("--note", default="")
    review.add_argument("--reviewer", default="head-office (cli)")
    channel = action("topup-channel", run_topup_channel,
                     "set which online top-ups a node offers on a channel (locations below inherit it unless they set their own)")
    channel.add_argument("--node", required=True, help="node id (head office, distributor or location)")
    channel.add_argument("--channel", required=True, choices=CHANNELS, help="the counter (pos) or players alone (kiosk)")
    offer = channel.add_mutually_exclusive_group(required=True)
    offer.add_argument("--providers", type=_providers, metavar="LIST", help=f"comma list of {', '.join(PROVIDER_NAMES)}")
    offer.add_argument("--off", action="store_true", help="offer none on this channel")
    offer.add_argument("--inherit", action="store_true", help="drop this node's own setting and inherit from above")


def _providers(text: str) -> frozenset[str]:
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    if not names or names - set(PROVIDER_NAMES):
        raise argparse.ArgumentTypeError(f"expected a comma list of {', '.join(PROVIDER_NAMES)}; got {text!r}")
    return names


def _credentials(path: Path) -> dict[str, object]:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise CafeError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise CafeError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise CafeError(f"{path} must hold a JSON object")
    return doc


def run_payment_account(args: argparse.Namespace) -> int:
    from central_server.cli import _settings, _transaction
    from central_server.keys import load_keys
    from central_server.payments import service
    from shared.protocol import PAYMENT_WEBHOOKS_PATH

    settings = _settings(args)
    creds = _credentials(args.credentials)
    keys = load_keys(settings.data_dir).data_keys
    with _transaction(settings) as conn:
        account_id = service.add_account(conn, keys, node_id=args.node, provider=args.provider, base_url=args.base_url,
                                         credentials=creds)
    print(account_id)
    print(f"webhook URL to configure at the provider: https://<central>{PAYMENT_WEBHOOKS_PATH}/{args.provider}/{account_id}")
    return 0


def run_payment_review(args: argparse.Namespace) -> int:
    from central_server.cli import _engine, _settings, _transaction
    from central_server.keys import load_keys
    from central_server.payments import service

    settings = _settings(args)
    if args.payment is None:
        with _transaction(settings) as conn:
            queue = service.review_queue(conn)
        for p in queue:
            print(f"{p.id}  {p.location_id}  player {p.player_id}  {p.amount_units} units  {'; '.join(p.review_reasons)}")
        print(f"{len(queue)} payment(s) waiting for review")
        return 0
    if args.decision is None or not args.note.strip():
        raise CafeError("to review a payment give --decision approve|reject and a --note")
    with _engine(settings) as engine:
        view = service.review(engine, load_keys(settings.data_dir).data_keys, payment_id=args.payment, decision=args.decision,
                              reviewer=args.reviewer, role="head_office_admin", note=args.note)
    print(f"{view.id}: {view.status}")
    return 0


def run_topup_channel(args: argparse.Namespace) -> int:
    from central_server.cli import _settings, _transaction
    from central_server.payments import service

    providers: frozenset[str] | None = None if args.inherit else frozenset() if args.off else args.providers
    with _transaction(_settings(args)) as conn:
        service.set_channel(conn, args.node, args.channel, providers)
    if providers is None:
        print(f"{args.node} now inherits its {args.channel} top-ups from above")
    else:
        offered = ", ".join(sorted(providers)) or "none"
        print(f"{args.node} offers {offered} on {args.channel}; devices below it get it at their next pull")
    return 0
