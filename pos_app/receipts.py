"""Receipts on an ESC/POS printer (python-escpos), with the same lines for the on-screen preview.

A receipt is printed only after its entry is in the journal. ``--printer`` / settings
pick the device: ``dummy`` (kept in memory: tests and the preview), ``file:PATH`` (a file
or ``/dev/usb/lp0``; the development default writes ``receipts/<id>.bin`` in the data
folder), ``network:HOST[:PORT]`` or ``usb:VID:PID``. The cash drawer opens through the
printer's kick (pin 2), as counter drawers are wired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import CafeError
from sync import escpos_driver

RECEIPT_WIDTH = 42


class PrinterError(CafeError):
    code = "printer"


@dataclass(frozen=True)
class Receipt:
    """What a receipt says: a title, label/value lines, and the transaction id as text and QR."""

    title: str
    location_name: str
    lines: tuple[tuple[str, str], ...]
    transaction_id: str
    printed_at: str
    footer: str = "Thank you. Play responsibly."
    open_drawer: bool = False

    def text_lines(self) -> list[str]:
        """The receipt as monospaced lines (the preview shows exactly these)."""
        out = [self.location_name.center(RECEIPT_WIDTH), self.title.upper().center(RECEIPT_WIDTH), "-" * RECEIPT_WIDTH]
        for label, value in self.lines:
            gap = max(1, RECEIPT_WIDTH - len(label) - len(value))
            out.append(f"{label}{' ' * gap}{value}")
        out += ["-" * RECEIPT_WIDTH, f"Tx {self.transaction_id}", self.printed_at, "", self.footer.center(RECEIPT_WIDTH)]
        return out


def render(printer: Any, receipt: Receipt) -> None:
    """Lay the receipt out on any python-escpos printer object, QR of the transaction id last."""
    lines = receipt.text_lines()
    printer.set(align="center", bold=True, double_height=True)
    printer.text(lines[0].strip() + "\n")
    printer.set(align="center", bold=True, normal_textsize=True)
    printer.text(lines[1].strip() + "\n")
    printer.set(align="left", bold=False, normal_textsize=True)
    printer.text("\n".join(lines[2:]) + "\n")
    printer.set(align="center")
    printer.qr(receipt.transaction_id, size=5, native=False)
    printer.cut()
    if receipt.open_drawer:
        printer.cashdraw(2)


def open_printer(spec: str, data_dir: Path, name: str) -> Any:
    escpos_printer = escpos_driver.load(data_dir)

    kind, _, arg = spec.partition(":")
    if kind == "dummy":
        return escpos_printer.Dummy()
    if kind == "file":
        target = Path(arg) if arg else Path(data_dir) / "receipts" / f"{name}.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        return escpos_printer.File(devfile=str(target))
    if kind == "network" and arg:
        host, _, port = arg.partition(":")
        return escpos_printer.Network(host, port=int(port) if port.isdigit() else 9100, timeout=10)
    if kind == "usb" and arg.count(":") == 1:
        vid, pid = arg.split(":")
        return escpos_printer.Usb(int(vid, 16), int(pid, 16))
    raise PrinterError(f"unknown printer {spec!r}: use dummy, file:PATH, network:HOST[:PORT] or usb:VID:PID")


@dataclass
class ReceiptPrinter:
    """Prints to one configured printer; keeps the last receipts and bytes (tests, preview, reprint)."""

    spec: str
    data_dir: Path
    printed: list[Receipt] = field(default_factory=list)
    last_output: bytes = b""
    drawer_kicks: int = 0

    def print(self, receipt: Receipt) -> None:
        try:
            device = open_printer(self.spec, self.data_dir, receipt.transaction_id)
            render(device, receipt)
            self.last_output = bytes(getattr(device, "output", b""))
            device.close()
        except PrinterError:
            raise
        except Exception as exc:  # the receipt is secondary: any driver failure becomes a message
            raise PrinterError(f"the receipt did not print ({exc.__class__.__name__}: {exc}); the transaction is recorded") from exc
        self.printed.append(receipt)
        self.drawer_kicks += int(receipt.open_drawer)

    def kick_drawer(self) -> None:
        device = open_printer(self.spec, self.data_dir, "drawer")
        device.cashdraw(2)
        device.close()
        self.drawer_kicks += 1
