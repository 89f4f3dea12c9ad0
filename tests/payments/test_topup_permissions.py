"""Who may start an online top-up (issue 8, "create"): a location's channel settings say which providers
the counter and the kiosks offer, and a POS must name a signed-in staff member whose role may.
Each refusal is a 403 with its own code and a sentence, and creates nothing at central or the provider."""

from __future__ import annotations

import pytest

from central_server.device_config import service as config_service
from central_server.errors import NotFound
from central_server.payments import rules, service
from shared.errors import ValidationError
from tests.central.conftest import LOCATION
from tests.payments.conftest import Payments


def set_channel(p: Payments, node: str, channel: str, providers: set[str] | None) -> None:
    with p.central.engine.begin() as conn:
        service.set_channel(conn, node, channel, None if providers is None else frozenset(providers))


def refused(p: Payments, response: object, code: str) -> str:
    assert response.status_code == 403, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code and body["message"]
    return str(body["message"])


def nothing_created(p: Payments, player: str) -> None:
    assert p.central.scalar("SELECT count(*) FROM payments WHERE player_id = :p", p=player) == 0
    assert not p.stripe.intents and not p.stripe.sessions and not p.btcpay.invoices


def staff(p: Payments, role: str, *, location: str = LOCATION) -> str:
    with p.central.engine.begin() as conn:
        return config_service.add_staff(conn, location_id=location, name=f"A {role}", role=role, pin="86420")


def test_a_kiosk_may_not_start_a_topup_until_the_location_allows_it(payments: Payments) -> None:
    kiosk, player = payments.central.enroll("kiosk"), payments.player()
    message = refused(payments, payments.ask(player, 10_00, "btcpay", device=kiosk), "topup_channel_off")
    assert "kiosks" in message and "switched off" in message
    nothing_created(payments, player)
    set_channel(payments, LOCATION, "kiosk", {"btcpay"})
    assert payments.topup(player, 10_00, "btcpay", device=kiosk)["checkout_url"]


def test_a_provider_the_location_does_not_offer_on_that_channel_is_refused(payments: Payments) -> None:
    kiosk, player = payments.central.enroll("kiosk"), payments.player()
    set_channel(payments, LOCATION, "kiosk", {"btcpay"})
    message = refused(payments, payments.ask(player, 10_00, "stripe", device=kiosk), "topup_provider_off")
    assert "stripe" in message and "btcpay" in message
    set_channel(payments, LOCATION, "pos", {"stripe"})
    refused(payments, payments.ask(player, 10_00, "btcpay"), "topup_provider_off")
    nothing_created(payments, player)
    assert payments.topup(player, 10_00, "stripe")["status"] == "pending"


def test_the_counter_can_be_switched_off_and_a_setting_up_the_tree_applies_below(payments: Payments) -> None:
    player = payments.player()
    set_channel(payments, "head-office", "pos", set())
    refused(payments, payments.ask(player, 10_00), "topup_channel_off")
    set_channel(payments, LOCATION, "pos", {"stripe", "btcpay"})  # the nearer node wins
    assert payments.topup(player, 10_00)["status"] == "pending"
    set_channel(payments, LOCATION, "pos", None)  # back to inheriting head office's "off"
    refused(payments, payments.ask(player, 10_00), "topup_channel_off")


@pytest.mark.parametrize("staff_id", [None, "not-a-staff-member"])
def test_a_pos_must_name_an_active_staff_member_of_its_location(payments: Payments, staff_id: str | None) -> None:
    player = payments.player()
    message = refused(payments, payments.ask(player, 10_00, staff_id=staff_id), "topup_staff_required")
    assert "cashier" in message
    nothing_created(payments, player)


def test_staff_of_another_location_or_deactivated_staff_is_refused(payments: Payments) -> None:
    player = payments.player()
    payments.central.execute("INSERT INTO nodes (id, kind, name, parent_id, currency, created_at) "
                             "VALUES ('loc-other', 'location', 'Other', 'head-office', 'USD', '2026-01-01T00:00:00Z')")
    elsewhere = staff(payments, "cashier", location="loc-other")
    refused(payments, payments.ask(player, 10_00, staff_id=elsewhere), "topup_staff_required")
    with payments.central.engine.begin() as conn:
        config_service.deactivate_staff(conn, payments.cashier_id)
    refused(payments, payments.ask(player, 10_00), "topup_staff_required")
    nothing_created(payments, player)


def test_a_technician_may_not_start_a_topup_but_a_manager_and_an_owner_may(payments: Payments) -> None:
    player = payments.player()
    message = refused(payments, payments.ask(player, 10_00, staff_id=staff(payments, "technician")), "topup_role_refused")
    assert message == "a technician may not start online top-ups"
    nothing_created(payments, player)
    for role in ("manager", "owner"):
        response = payments.ask(player, 10_00, staff_id=staff(payments, role))
        assert response.status_code == 200, response.text


def test_the_config_document_tells_each_device_what_it_may_offer(payments: Payments) -> None:
    with payments.central.engine.begin() as conn:
        assert config_service.build_config(conn, LOCATION, "pos").topup_providers == ("stripe", "btcpay")
        assert config_service.build_config(conn, LOCATION, "kiosk").topup_providers == ()
        service.set_channel(conn, LOCATION, "kiosk", frozenset({"stripe"}))
        assert config_service.build_config(conn, LOCATION, "kiosk").topup_providers == ("stripe",)
        # Allowed but without an account, a provider is not offered.
        conn.exec_driver_sql("UPDATE payment_accounts SET active = false WHERE provider = 'stripe'")
        assert config_service.build_config(conn, LOCATION, "kiosk").topup_providers == ()
        assert config_service.build_config(conn, LOCATION, "pos").topup_providers == ("btcpay",)


def test_channel_settings_are_validated() -> None:
    assert rules.creation_refusal(channel="kiosk", provider="stripe", offered=frozenset({"stripe"}), staff_role=None) is None
    refusal = rules.creation_refusal(channel="tv", provider="stripe", offered=frozenset({"stripe"}), staff_role="cashier")
    assert refusal is not None and refusal.code == "topup_channel_refused"


def test_setting_a_channel_refuses_unknown_providers_channels_and_nodes(payments: Payments) -> None:
    with payments.central.engine.begin() as conn:
        with pytest.raises(ValidationError):
            service.set_channel(conn, LOCATION, "kiosk", frozenset({"paypal"}))
        with pytest.raises(ValidationError):
            service.set_channel(conn, LOCATION, "atm", frozenset())
        with pytest.raises(NotFound):
            service.set_channel(conn, "nowhere", "kiosk", frozenset())


def test_the_cli_sets_a_channel_and_refuses_bad_input_in_one_line(payments: Payments, capsys: pytest.CaptureFixture[str]) -> None:
    from cafe_cli.main import main

    db = ("--db", payments.central.db_url)
    kiosk, player = payments.central.enroll("kiosk"), payments.player()
    assert main(["central", "topup-channel", *db, "--node", LOCATION, "--channel", "kiosk", "--providers", "btcpay"]) == 0
    assert capsys.readouterr().out.strip() == f"{LOCATION} offers btcpay on kiosk; devices below it get it at their next pull"
    assert payments.topup(player, 10_00, "btcpay", device=kiosk)["checkout_url"]
    refused(payments, payments.ask(player, 10_00, "stripe", device=kiosk), "topup_provider_off")
    assert main(["central", "topup-channel", *db, "--node", LOCATION, "--channel", "kiosk", "--off"]) == 0
    assert "offers none on kiosk" in capsys.readouterr().out
    refused(payments, payments.ask(player, 10_00, "btcpay", device=kiosk), "topup_channel_off")
    assert main(["central", "topup-channel", *db, "--node", LOCATION, "--channel", "kiosk", "--inherit"]) == 0
    assert capsys.readouterr().out.strip() == f"{LOCATION} now inherits its kiosk top-ups from above"
    refused(payments, payments.ask(player, 10_00, "btcpay", device=kiosk), "topup_channel_off")  # kiosks are off by default

    for argv, reason in (
        (["--node", LOCATION, "--channel", "kiosk", "--providers", "paypal"], "expected a comma list of stripe, btcpay"),
        (["--node", LOCATION, "--channel", "tv", "--off"], "invalid choice"),
        (["--node", LOCATION, "--channel", "pos"], "one of the arguments --providers --off --inherit is required"),
        (["--node", LOCATION, "--channel", "pos", "--off", "--inherit"], "not allowed with argument"),
    ):
        with pytest.raises(SystemExit) as exited:
            main(["central", "topup-channel", *db, *argv])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and reason in err and len(err.strip().splitlines()) == 1, err
    assert main(["central", "topup-channel", *db, "--node", "nowhere", "--channel", "pos", "--off"]) == 1
    assert capsys.readouterr().err.strip() == "cafe: there is no node 'nowhere'"
