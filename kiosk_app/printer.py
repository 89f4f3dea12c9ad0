"""Printing a cash-out ticket on the kiosk's ESC/POS printer (python-escpos).

The ticket is printed only after its ``voucher_issue`` entry is in the journal (the
service layer orders that); this module only turns a journaled voucher into paper.
``--printer`` picks the device: ``file:PATH`` (a file or a character device such as
``/dev/usb/lp0``; the development default writes one ``.bin`` per ticket into the data
folder), ``network:HOST[:PORT]`` or ``dummy`` (kept in memory, for tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import CafeError
from shared.money import CREDITS, format_units
from sync import escpos_driver


class PrinterError(CafeError):
    code = "printer"


@dataclass(frozen=True)
class Ticket:
    """A journaled voucher as printed: the human fields and the signed QR text."""

    voucher_id: str
    validation_number: str  # grouped for reading aloud
    amount_units: int
    kiosk_id: str
    location_name: str
    issued_at: str
    qr_text: str
    expiry_days: int


def render(printer: Any, ticket: Ticket) -> None:
    """Lay the ticket out on any python-escpos printer object."""
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text("CASH-OUT TICKET\n")
    printer.set(align="center", bold=False, normal_textsize=True)
    printer.text(f"{ticket.location_name}\n\n")
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text(f"{format_units(ticket.amount_units, CREDITS)} CREDITS\n\n")
    printer.set(align="center", bold=True, normal_textsize=True)
    printer.text(f"VALIDATION {ticket.validation_number}\n")
    printer.set(align="left", bold=False, normal_textsize=True)
    printer.text(f"Ticket  {ticket.voucher_id}\nKiosk   {ticket.kiosk_id}\nIssued  {ticket.issued_at}\n")
    printer.text(f"Valid for {ticket.expiry_days} days. Redeem at the counter.\n")
    printer.qr(ticket.qr_text, size=4, native=False, center=True)
    printer.cut()


def open_printer(spec: str, data_dir: Path, voucher_id: str) -> Any:
    """The printer named by ``spec`` for one ticket."""
    escpos_printer = escpos_driver.load(data_dir)

    kind, _, arg = spec.partition(":")
    if kind == "dummy":
        return escpos_printer.Dummy()
    if kind == "file":
        target = Path(arg) if arg else data_dir / "tickets" / f"{voucher_id}.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        return escpos_printer.File(devfile=str(target))
    if kind == "network" and arg:
        host, _, port = arg.partition(":")
        return escpos_printer.Network(host, port=int(port) if port.isdigit() else 9100, timeout=10)
    raise PrinterError(f"unknown printer {spec!r}: use file:PATH, network:HOST[:PORT] or dummy")


class VoucherPrinter:
    """Prints tickets to one configured printer; keeps the last dummy output for tests and the screen."""

    def __init__(self, spec: str, data_dir: Path):
        self.spec = spec
        self.data_dir = Path(data_dir)
        self.last_output: bytes = b""
        self.printed: list[Ticket] = []

    def print_ticket(self, ticket: Ticket) -> None:
        try:
            device = open_printer(self.spec, self.data_dir, ticket.voucher_id)
            render(device, ticket)
            self.last_output = bytes(getattr(device, "output", b"") or b"")
            device.close()
        except PrinterError:
            raise
        except Exception as exc:  # python-escpos raises many kinds; the player needs one sentence
            raise PrinterError(f"the ticket printer failed ({exc.__class__.__name__}: {exc}); the ticket is recorded, "
                               "ask staff to reprint it") from exc
        self.printed.append(ticket)
