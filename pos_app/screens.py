"""The counter's screens. Each builds its widgets in ``_build_ui`` and asks the window's
worker to run service calls; none touches the journal or the network itself."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pos_app import rules
from pos_app.receipts import Receipt
from pos_app.service import Done, Player, ShiftReport, TicketCheck
from pos_app.widgets import DenominationCounter, Keypad, button, label, panel, set_message
from shared.device_config import StaffMember
from shared.errors import CafeError, ValidationError
from shared.money import CREDITS, Money, format_units

if TYPE_CHECKING:
    from pos_app.window import MainWindow


def credits(units: int) -> str:
    return f"{format_units(units, CREDITS)} cr"


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(44)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c and any(ch.isdigit() for ch in text) and text.replace(".", "").replace("-", "").replace(" cr", "").isdigit():
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


def _centered(widget: QWidget, max_width_px: int) -> QHBoxLayout:
    """``widget`` in the middle of the row, as wide as the row allows up to ``max_width_px``. (Aligning it
    in its layout instead would leave its wrapped labels the height of the full row's width: cut off.)"""
    widget.setMaximumWidth(max_width_px)
    widget.setSizePolicy(QSizePolicy.Policy.Expanding, widget.sizePolicy().verticalPolicy())
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addStretch(1)
    row.addWidget(widget, 8)
    row.addStretch(1)
    return row


class ReceiptView(QPlainTextEdit):
    """The on-screen preview: exactly the lines the printer got."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMinimumSize(380, 150)  # 42 monospaced columns; the height scrolls at 1366x768
        self.setPlaceholderText("The last receipt appears here.")

    def show_receipt(self, receipt: Receipt, problem: str | None = None) -> None:
        lines = [*receipt.text_lines(), "", "[QR: transaction id]"]
        if problem:
            lines += ["", f"PRINTER: {problem}"]
        self.setPlainText("\n".join(lines))


class Screen(QWidget):
    """Base: a title row and access to the window (service, worker, who is logged in)."""

    title = ""

    def __init__(self, window: MainWindow):
        super().__init__()
        self.win = window

    def shown(self) -> None:
        """Called each time the screen comes to the front."""

    def header(self, layout: QVBoxLayout, subtitle: str = "") -> QLabel:
        self.title_label = label(self.title, "title")
        layout.addWidget(self.title_label)
        sub = label(subtitle, "subtitle", wrap=True)
        layout.addWidget(sub)
        return sub

    def fail(self, target: Any) -> Any:
        def show(exc: CafeError) -> None:
            set_message(target, exc.message[:1].upper() + exc.message[1:], error=True)
        return show


# -- first run ------------------------------------------------------------------------------------

class EnrollScreen(Screen):
    title = "Set up this station"
    sig_enrolled = Signal()
    """The station is enrolled; the window opens it and shows the login."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.fingerprint = ""
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 16, 0, 16)
        box, layout = panel()
        self.header(layout, "Connect this POS to central once. Ask the owner for a one-time code.")
        layout.addWidget(label("CENTRAL ADDRESS", "caption"))
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://central.example:8443")
        layout.addWidget(self.url)
        self.check = button("Check central", key="Enter")
        self.check.clicked.connect(self.check_central)
        layout.addWidget(self.check)
        layout.addWidget(label("CENTRAL'S CERTIFICATE FINGERPRINT (compare with central's screen)", "caption"))
        self.fp = label("—", wrap=True)
        self.fp.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fp.setStyleSheet("font-family: 'DejaVu Sans Mono', monospace; font-size: 16px;")
        layout.addWidget(self.fp)
        layout.addWidget(label("ONE-TIME CODE", "caption"))
        self.code = QLineEdit()
        self.code.setPlaceholderText("ABCD-EFGH-JKLM")
        self.code.setEnabled(False)
        layout.addWidget(self.code)
        self.enroll = button("Fingerprint matches: enroll", "primary", key="Enter")
        self.enroll.setEnabled(False)
        self.enroll.clicked.connect(self.do_enroll)
        layout.addWidget(self.enroll)
        self.message = label("", "message", wrap=True)
        layout.addWidget(self.message)
        outer.addLayout(_centered(box, 760))
        outer.addStretch()
        self.url.returnPressed.connect(self.check_central)
        self.code.returnPressed.connect(self.do_enroll)

    def check_central(self) -> None:
        set_message(self.message, "Asking central for its certificate…")
        self.win.worker.run(lambda: self.win.service.fetch_fingerprint(self.url.text()), self._checked,
                            self.fail(self.message), lane="lookup")

    def _checked(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.fp.setText(" ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4)).upper())
        self.code.setEnabled(True)
        self.enroll.setEnabled(True)
        self.code.setFocus()
        set_message(self.message, "Compare the fingerprint with central's screen, then type the code.")

    def do_enroll(self) -> None:
        if not self.fingerprint:
            return
        set_message(self.message, "Enrolling…")
        url, code, fp = self.url.text(), self.code.text(), self.fingerprint
        self.win.worker.run(lambda: self.win.service.enroll(url, code, fp), lambda _: self.sig_enrolled.emit(),
                            self.fail(self.message))


# -- login ---------------------------------------------------------------------------------------------

class LoginScreen(Screen):
    title = "Sign in"
    sig_logged_in = Signal(object)
    """The StaffMember whose PIN was accepted."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.selected: StaffMember | None = None
        self.staff_buttons: dict[str, Any] = {}
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 16, 0, 16)
        box, layout = panel()
        self.sub = self.header(layout, "Choose your name, then type your PIN.")
        self.grid = QGridLayout()
        self.grid.setSpacing(10)
        layout.addLayout(self.grid)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("PIN")
        self.pin.setMaxLength(8)
        self.pin.returnPressed.connect(self.submit)
        layout.addWidget(self.pin)
        self.go = button("Sign in", "primary", key="Enter")
        self.go.clicked.connect(self.submit)
        layout.addWidget(self.go)
        self.message = label("", "message", wrap=True)
        layout.addWidget(self.message)
        outer.addLayout(_centered(box, 820))
        outer.addStretch()

    def shown(self) -> None:
        self.pin.clear()
        self.refresh_staff()
        self.pin.setFocus()

    def refresh_staff(self) -> None:
        staff = self.win.staff
        if [m.id for m in staff] == list(self.staff_buttons):
            return
        for b in self.staff_buttons.values():
            b.deleteLater()
        self.staff_buttons = {}
        for i, member in enumerate(staff):
            b = button(f"{member.name}\n{member.role}")
            b.setCheckable(True)
            b.setProperty("twoLines", True)  # name and role: the theme makes it taller
            b.clicked.connect(lambda _=False, m=member: self.choose(m))
            self.grid.addWidget(b, i // 3, i % 3)
            self.staff_buttons[member.id] = b
        if not staff:
            set_message(self.message, "Waiting for the staff list from central…")
        elif self.selected is None or self.selected.id not in self.staff_buttons:
            self.choose(staff[0])

    def choose(self, member: StaffMember) -> None:
        self.selected = member
        for staff_id, b in self.staff_buttons.items():
            b.setChecked(staff_id == member.id)
            b.setObjectName("primary" if staff_id == member.id else "")
            b.style().unpolish(b)
            b.style().polish(b)
        self.pin.setFocus()

    def submit(self) -> None:
        if self.selected is None or not self.pin.text():
            return
        member, pin = self.selected, self.pin.text()
        self.pin.clear()
        self.go.setEnabled(False)
        set_message(self.message, "Checking…")

        def failed(exc: CafeError) -> None:
            self.go.setEnabled(True)
            self.fail(self.message)(exc)

        def done(who: StaffMember) -> None:
            self.go.setEnabled(True)
            set_message(self.message, "")
            self.sig_logged_in.emit(who)
        self.win.worker.run(lambda: self.win.service.login(member.id, pin), done, failed)


# -- selling -------------------------------------------------------------------------------------------

class SellScreen(Screen):
    title = "Sell credits"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(10)
        self.header(left, "Scan the player's card or find them, key the amount, take the money.")
        pbox, pl = panel()
        pl.addWidget(label("PLAYER", "caption"))
        self.player_name = label("No player selected", "amount")
        self.player_name.setStyleSheet("font-size: 26px;")
        pl.addWidget(self.player_name)
        self.player_info = label("Scan a card, or type its number and press Enter.", "subtitle", wrap=True)
        pl.addWidget(self.player_info)
        self.card = QLineEdit()
        self.card.setPlaceholderText("Card number")
        self.card.returnPressed.connect(self.load_card)
        row = QHBoxLayout()
        row.addWidget(self.card, 1)
        self.find_button = button("Find", key="F2")
        self.find_button.clicked.connect(lambda: self.win.go("players"))
        row.addWidget(self.find_button)
        pl.addLayout(row)
        left.addWidget(pbox)
        abox, al = panel()
        amount_row = QHBoxLayout()
        amount_row.addWidget(label("AMOUNT", "caption"), 0, Qt.AlignmentFlag.AlignVCenter)
        self.amount = label("", "bigAmount")
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        amount_row.addWidget(self.amount, 1)
        al.addLayout(amount_row)
        presets = QHBoxLayout()
        self.preset_row = presets
        al.addLayout(presets)
        self.keypad = Keypad()
        self.keypad.sig_changed.connect(self._amount_changed)
        al.addWidget(self.keypad, 1)
        left.addWidget(abox, 1)
        outer.addLayout(left, 3)

        right = QVBoxLayout()
        right.setSpacing(10)
        tbox, tl = panel()
        tl.addWidget(label("TENDER", "caption"))
        self.cash = QRadioButton("Cash")
        self.card_tender = QRadioButton("Card (external terminal)")
        self.cash.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.cash)
        group.addButton(self.card_tender)
        self.cash.toggled.connect(self._tender_changed)
        tl.addWidget(self.cash)
        tl.addWidget(self.card_tender)
        self.tendered = QLineEdit()
        self.tendered.setPlaceholderText("Cash received (empty = exact)")
        self.tendered.textChanged.connect(self._update_change)
        self.tendered.returnPressed.connect(self.complete)
        tl.addWidget(self.tendered)
        self.terminal_ref = QLineEdit()
        self.terminal_ref.setPlaceholderText("Terminal reference")
        self.terminal_ref.returnPressed.connect(self.complete)
        tl.addWidget(self.terminal_ref)
        change_row = QHBoxLayout()
        change_row.addWidget(label("CHANGE DUE", "caption"), 0, Qt.AlignmentFlag.AlignVCenter)
        self.change = label("0.00", "amount")
        self.change.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        change_row.addWidget(self.change, 1)
        tl.addLayout(change_row)
        self.done_button = button("Complete sale", "primary", key="Enter")
        self.done_button.setMinimumHeight(70)
        self.done_button.clicked.connect(self.complete)
        tl.addWidget(self.done_button)
        self.message = label("", "message", wrap=True)
        tl.addWidget(self.message)
        right.addWidget(tbox)
        self.receipt = ReceiptView()
        right.addWidget(self.receipt, 1)
        outer.addLayout(right, 2)
        self._tender_changed()
        self._amount_changed(0)

    def shown(self) -> None:
        self._refresh_presets()
        self.show_player(self.win.player)

    def _refresh_presets(self) -> None:
        while self.preset_row.count():
            item = self.preset_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        config = self.win.config
        for units in (config.sale_presets_units if config else (1000, 2000, 5000, 10000)):
            b = button(format_units(units, CREDITS), "preset")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, u=units: self.keypad.set_amount(u))
            self.preset_row.addWidget(b)

    def show_player(self, player: Player | None) -> None:
        if player is None:
            self.player_name.setText("No player selected")
            self.player_info.setText("Scan a card, or type its number and press Enter.")
            return
        self.player_name.setText(player.name)
        status = "  ·  SELF-EXCLUDED: no sales" if player.self_excluded else ""
        self.player_info.setText(f"Card {player.card_number}  ·  balance {credits(player.balance_units)}{status}")
        self.player_info.setObjectName("bad" if player.self_excluded else "subtitle")
        self.player_info.style().polish(self.player_info)

    def load_card(self) -> None:
        card = self.card.text().strip()
        if card:
            self.win.load_player_by_card(card)
            self.card.clear()

    def _amount_changed(self, units: int) -> None:
        self.amount.setText(f"{format_units(units, self.win.currency)} {self.win.currency}")
        self._update_change()

    def _tender_changed(self) -> None:
        cash = self.cash.isChecked()
        self.tendered.setVisible(cash)
        self.terminal_ref.setVisible(not cash)
        self._update_change()

    def _tendered_units(self) -> int:
        text = self.tendered.text().strip()
        return self.keypad.amount_units if not text else Money.parse(text, self.win.currency).units

    def _update_change(self) -> None:
        try:
            due = rules.change_due(self.keypad.amount_units, self._tendered_units()) if self.cash.isChecked() else 0
            self.change.setText(format_units(due, self.win.currency))
            self.change.setObjectName("amount")
        except ValidationError:
            self.change.setText("not enough")
            self.change.setObjectName("bad")
        self.change.style().polish(self.change)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.complete()
        elif not self.keypad.handle_key(event):
            super().keyPressEvent(event)

    def complete(self) -> None:
        player, cashier = self.win.player, self.win.cashier
        if player is None or cashier is None:
            set_message(self.message, "Choose the player first (scan the card or press F2).", error=True)
            return
        try:
            tendered = self._tendered_units()
        except ValidationError as exc:
            set_message(self.message, exc.message, error=True)
            return
        amount, tender, ref = self.keypad.amount_units, "cash" if self.cash.isChecked() else "card", self.terminal_ref.text()
        self.done_button.setEnabled(False)
        set_message(self.message, "Recording the sale…")

        def done(result: Done) -> None:
            self.done_button.setEnabled(True)
            change = f" — change {format_units(result.change_units, self.win.currency)}" if tender == "cash" else ""
            set_message(self.message, f"Done: {credits(amount)} to {player.name}{change}")
            self.receipt.show_receipt(result.receipt, result.printer_problem)
            self.keypad.set_amount(0)
            self.tendered.clear()
            self.terminal_ref.clear()
            if self.win.player is not None and self.win.player.player_id == player.player_id:
                # The sale is journaled here: the wallet holds it whether or not central has heard yet.
                self.win.set_player(replace(self.win.player, balance_units=self.win.player.balance_units + amount))
            self.win.after_money_change()

        def failed(exc: CafeError) -> None:
            self.done_button.setEnabled(True)
            self.fail(self.message)(exc)
        self.win.worker.run(lambda: self.win.service.sell(cashier, player, amount, tender=tender, tendered_units=tendered,
                                                          terminal_ref=ref), done, failed)


# -- players ---------------------------------------------------------------------------------------------

class PlayersScreen(Screen):
    title = "Players"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.results: list[Player] = []
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(10)
        self.header(left, "Search by card, phone or name — or register a new player.")
        row = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("Card, phone, or name")
        self.query.returnPressed.connect(self.search)
        row.addWidget(self.query, 1)
        self.go = button("Search", "primary", key="Enter")
        self.go.clicked.connect(self.search)
        row.addWidget(self.go)
        left.addLayout(row)
        self.table = _table(["Name", "Card", "Phone", "Balance", "Status"])
        self.table.cellDoubleClicked.connect(lambda r, _c: self.open_row(r))
        self.table.itemSelectionChanged.connect(lambda: self.open_row(self.table.currentRow()))
        left.addWidget(self.table, 1)
        self.message = label("", "message", wrap=True)
        left.addWidget(self.message)
        rbox, rl = panel()
        rl.addWidget(label("NEW PLAYER", "caption"))
        self.full_name = QLineEdit()
        self.full_name.setPlaceholderText("Full name")
        self.dob = QLineEdit()
        self.dob.setPlaceholderText("Date of birth YYYY-MM-DD")
        self.phone = QLineEdit()
        self.phone.setPlaceholderText("Phone")
        self.id_number = QLineEdit()
        self.id_number.setPlaceholderText("ID number (optional)")
        self.player_pin = QLineEdit()
        self.player_pin.setPlaceholderText("Kiosk PIN, 4–6 digits (optional)")
        self.player_pin.setEchoMode(QLineEdit.EchoMode.Password)
        grid = QGridLayout()
        for i, w in enumerate((self.full_name, self.dob, self.phone, self.id_number, self.player_pin)):
            grid.addWidget(w, i // 2, i % 2)
        rl.addLayout(grid)
        self.register = button("Register and issue card", key="F11")
        self.register.clicked.connect(self.do_register)
        rl.addWidget(self.register)
        left.addWidget(rbox)
        outer.addLayout(left, 3)

        vbox, vl = panel()
        vl.addWidget(label("PLAYER", "caption"))
        self.v_name = label("—", "amount")
        self.v_name.setStyleSheet("font-size: 28px;")
        self.v_name.setWordWrap(True)
        vl.addWidget(self.v_name)
        self.v_details = label("", "subtitle", wrap=True)
        vl.addWidget(self.v_details)
        vl.addWidget(label("WALLET BALANCE", "caption"))
        self.v_balance = label("—", "bigAmount")
        vl.addWidget(self.v_balance)
        self.v_status = label("", "good")
        vl.addWidget(self.v_status)
        vl.addWidget(label("RECENT ACTIVITY", "caption"))
        self.activity = _table(["When", "What", "Credits"])
        vl.addWidget(self.activity, 1)
        actions = QHBoxLayout()
        self.sell_to = button("Sell", "primary", key="F1")
        self.sell_to.clicked.connect(lambda: self.win.go("sell"))
        self.pay_out = button("Pay out", key="F3")
        self.pay_out.clicked.connect(lambda: self.win.go("payout"))
        self.exclude = button("Self-exclude", "danger")
        self.exclude.clicked.connect(self.do_exclude)
        for b in (self.sell_to, self.pay_out, self.exclude):
            actions.addWidget(b)
        vl.addLayout(actions)
        outer.addWidget(vbox, 2)

    def shown(self) -> None:
        self.show_player(self.win.player)
        self.query.setFocus()

    def search(self) -> None:
        q = self.query.text().strip()
        if not q:
            return
        set_message(self.message, "Searching…")
        self.win.worker.run(lambda: self.win.service.search_players(q), self._found, self.fail(self.message), lane="lookup")

    def _found(self, players: list[Player]) -> None:
        self.results = players
        _fill(self.table, [[p.name, p.card_number, p.phone, credits(p.balance_units), "EXCLUDED" if p.self_excluded else "ok"]
                           for p in players])
        set_message(self.message, f"{len(players)} found" if players else "Nobody found. Check the spelling, or register.")
        if len(players) == 1:
            self.open_row(0)

    def open_row(self, row: int) -> None:
        if 0 <= row < len(self.results):
            self.win.load_player(self.results[row].player_id)

    def show_player(self, player: Player | None) -> None:
        if player is None:
            self.v_name.setText("—")
            self.v_details.setText("Search, scan a card, or register.")
            self.v_balance.setText("—")
            self.v_status.setText("")
            _fill(self.activity, [])
            return
        self.v_name.setText(player.name)
        age = f" · age {player.age_years}" if player.age_years is not None else ""
        self.v_details.setText(f"Card {player.card_number}{age}" + (f" · {player.phone}" if player.phone else ""))
        self.v_balance.setText(credits(player.balance_units))
        self.v_status.setText("SELF-EXCLUDED — no sales" if player.self_excluded else "Active")
        self.v_status.setObjectName("bad" if player.self_excluded else "good")
        self.v_status.style().polish(self.v_status)
        self.exclude.setEnabled(player.registered and not player.self_excluded)
        pid = player.player_id
        self.win.worker.run(lambda: self.win.service.activity(pid), self._activity, lambda _e: _fill(self.activity, []),
                            lane="lookup")

    def _activity(self, rows: list[dict[str, Any]]) -> None:
        names = {"sale": "Bought credits", "redemption": "Paid out", "session_checkout": "To a kiosk",
                 "session_checkin": "Back from a kiosk", "online_payment": "Online top-up", "void": "Void"}
        _fill(self.activity, [[r["created_at"][5:16].replace("T", " "), names.get(r["kind"], r["kind"]), credits(r["amount_units"])]
                              for r in rows])

    def do_register(self) -> None:
        fields = {"full_name": self.full_name.text(), "date_of_birth": self.dob.text(), "phone": self.phone.text(),
                  "id_number": self.id_number.text(), "pin": self.player_pin.text()}
        set_message(self.message, "Registering…")

        def done(player: Player) -> None:
            for w in (self.full_name, self.dob, self.phone, self.id_number, self.player_pin):
                w.clear()
            set_message(self.message, f"Registered {player.name}: card {player.card_number}")
            self.win.set_player(player)
        self.win.worker.run(lambda: self.win.service.register_player(**fields), done, self.fail(self.message), lane="lookup")

    def do_exclude(self) -> None:
        player = self.win.player
        if player is None:
            return
        pid = player.player_id
        self.win.worker.run(lambda: self.win.service.self_exclude(pid, "asked at the counter"), self.win.set_player,
                            self.fail(self.message), lane="lookup")


# -- payouts ---------------------------------------------------------------------------------------------

class PayoutScreen(Screen):
    title = "Pay out"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.check: TicketCheck | None = None
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(10)
        self.header(left, "Scan a ticket at any time, or pay from the selected player's wallet (needs central).")
        tbox, tl = panel()
        tl.addWidget(label("TICKET (VOUCHER)", "caption"))
        self.ticket_text = QLineEdit()
        self.ticket_text.setPlaceholderText("Scan the ticket's QR code")
        self.ticket_text.returnPressed.connect(lambda: self.check_ticket(self.ticket_text.text()))
        tl.addWidget(self.ticket_text)
        self.t_amount = label("—", "bigAmount")
        tl.addWidget(self.t_amount)
        self.t_details = label("", "subtitle", wrap=True)
        tl.addWidget(self.t_details)
        self.t_warning = label("", "warn", wrap=True)
        tl.addWidget(self.t_warning)
        self.pay_ticket = button("Pay ticket", "primary", key="Enter")
        self.pay_ticket.setEnabled(False)
        self.pay_ticket.clicked.connect(self.do_pay_ticket)
        tl.addWidget(self.pay_ticket)
        left.addWidget(tbox)
        wbox, wl = panel()
        wl.addWidget(label("WALLET", "caption"))
        self.w_player = label("No player selected (F2 to find one)", "subtitle", wrap=True)
        wl.addWidget(self.w_player)
        self.w_amount = QLineEdit()
        self.w_amount.setPlaceholderText("Credits to pay out, e.g. 25.00")
        self.w_amount.returnPressed.connect(self.do_pay_wallet)
        wallet_row = QHBoxLayout()
        wallet_row.addWidget(self.w_amount, 1)
        self.pay_wallet = button("Pay out from wallet", key="F10")
        self.pay_wallet.clicked.connect(self.do_pay_wallet)
        wallet_row.addWidget(self.pay_wallet)
        wl.addLayout(wallet_row)
        left.addWidget(wbox)
        self.message = label("", "message", wrap=True)
        left.addWidget(self.message)
        left.addStretch()
        outer.addLayout(left, 3)
        self.receipt = ReceiptView()
        outer.addWidget(self.receipt, 2)

    def shown(self) -> None:
        player = self.win.player
        self.w_player.setText(f"{player.name} · balance {credits(player.balance_units)}" if player else
                              "No player selected (F2 to find one)")
        self.ticket_text.setFocus()

    def check_ticket(self, text: str) -> None:
        self.ticket_text.clear()
        self.check = None
        self.pay_ticket.setEnabled(False)
        self.t_amount.setText("—")
        self.t_details.setText("")
        self.t_warning.setText("")
        set_message(self.message, "Checking the ticket…")
        self.win.worker.run(lambda: self.win.service.check_ticket(text), self._checked, self.fail(self.message))

    def _checked(self, check: TicketCheck) -> None:
        self.check = check
        t = check.ticket
        self.t_amount.setText(credits(t.amount_units))
        self.t_details.setText(f"Validation {t.validation_number} · kiosk {t.kiosk_id[:12]} · issued {t.issued_at[:16]}")
        warnings = list(check.warnings) + (["Above the payout limit: a manager approves."] if check.needs_manager else [])
        self.t_warning.setText("\n".join(warnings))
        self.pay_ticket.setEnabled(True)
        self.pay_ticket.setFocus()
        set_message(self.message, "Ticket looks right. Press Enter to pay.")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.pay_ticket.isEnabled():
            self.do_pay_ticket()
        else:
            super().keyPressEvent(event)

    def do_pay_ticket(self) -> None:
        check, cashier = self.check, self.win.cashier
        if check is None or cashier is None:
            return
        self.pay_ticket.setEnabled(False)

        def pay(approver: StaffMember | None) -> None:
            set_message(self.message, "Asking central…")
            self.win.worker.run(lambda: self.win.service.pay_ticket(cashier, check, approver), self._paid, self._pay_failed)
        if check.needs_manager:
            self.win.approve("Approve ticket payout", f"{credits(check.ticket.amount_units)} is above the payout limit.",
                             lambda approver, _reason: pay(approver), need_reason=False)
        else:
            pay(None)

    def _paid(self, result: Done) -> None:
        self.check = None
        set_message(self.message, "Paid offline (will be checked on sync)." if result.offline else "Paid. Hand over the cash.")
        self.receipt.show_receipt(result.receipt, result.printer_problem)
        self.win.after_money_change()

    def _pay_failed(self, exc: CafeError) -> None:
        self.fail(self.message)(exc)
        self.pay_ticket.setEnabled(self.check is not None and exc.code in ("offline", "needs_manager", "drawer_short"))

    def do_pay_wallet(self) -> None:
        player, cashier = self.win.player, self.win.cashier
        if player is None or cashier is None:
            set_message(self.message, "Choose the player first (F2).", error=True)
            return
        try:
            amount = Money.parse(self.w_amount.text(), CREDITS).units
        except ValidationError as exc:
            set_message(self.message, exc.message, error=True)
            return

        def pay(approver: StaffMember | None) -> None:
            set_message(self.message, "Asking central…")

            def done(result: Done) -> None:
                self.w_amount.clear()
                self._paid(result)
                self.win.load_player(player.player_id)
            self.win.worker.run(lambda: self.win.service.redeem_wallet(cashier, player, amount, approver), done,
                                self.fail(self.message))
        if rules.payout_needs_manager(amount, self.win.limits):
            self.win.approve("Approve wallet payout", f"{credits(amount)} is above the payout limit.",
                             lambda approver, _r: pay(approver), need_reason=False)
        else:
            pay(None)


# -- shift ---------------------------------------------------------------------------------------------

class ShiftScreen(Screen):
    title = "Shift"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(10)
        self.sub = self.header(left, "")
        cbox, cl = panel()
        self.counter = DenominationCounter(self.win.currency)
        self.counter.sig_changed.connect(self._counted)
        cl.addWidget(self.counter, 1)
        left.addWidget(cbox, 1)
        outer.addLayout(left, 3)
        right = QVBoxLayout()
        right.setSpacing(10)
        sbox, sl = panel()
        self.summary = QGridLayout()
        self.summary.setVerticalSpacing(8)
        self.values: dict[str, Any] = {}
        for i, name in enumerate(("Float", "Sales", "Card sales", "Payouts", "Voids", "Expected cash", "Counted", "Difference")):
            self.summary.addWidget(label(name.upper(), "caption"), i, 0)
            value = label("—")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            value.setStyleSheet("font-size: 20px; font-weight: 700;")
            self.values[name] = value
            self.summary.addWidget(value, i, 1)
        sl.addLayout(self.summary)
        self.action = button("Open shift", "primary", key="Enter")
        self.action.setMinimumHeight(66)
        self.action.clicked.connect(self.submit)
        sl.addWidget(self.action)
        self.message = label("", "message", wrap=True)
        sl.addWidget(self.message)
        right.addWidget(sbox)
        self.report = ReceiptView()
        right.addWidget(self.report, 1)
        outer.addLayout(right, 2)

    def shown(self) -> None:
        self.counter.set_counts({})
        self.refresh()

    def refresh(self) -> None:
        state, c = self.win.shift, self.win.currency
        if state is None:
            self.title_text("Open a shift", "Count the starting float, then open the shift. No money moves before that.")
            self.action.setText("Open shift   [Enter]")
            for v in self.values.values():
                v.setText("—")
        else:
            self.title_text("Close the shift", f"Shift opened {state.opened_at[:16].replace('T', ' ')} UTC. Count the drawer.")
            self.action.setText("Close shift   [Enter]")
            self.values["Float"].setText(format_units(state.float_units, c))
            self.values["Sales"].setText(f"{credits(state.sales_units)} ({state.sales_count})")
            self.values["Card sales"].setText(format_units(state.card_sales_units, c))
            self.values["Payouts"].setText(f"{credits(state.payouts_units)} ({state.payouts_count})")
            self.values["Voids"].setText(str(state.voids_count))
            self.values["Expected cash"].setText(format_units(state.expected_cash_units, c))
        self._counted(self.counter.total_units())

    def title_text(self, title: str, subtitle: str) -> None:
        self.title_label.setText(title)
        self.sub.setText(subtitle)

    def _counted(self, total: int) -> None:
        state, c = self.win.shift, self.win.currency
        self.values["Counted"].setText(format_units(total, c))
        if state is None:
            self.values["Difference"].setText("—")
            return
        diff = total - state.expected_cash_units
        text = format_units(diff, c)
        self.values["Difference"].setText(("SHORT " if diff < 0 else "OVER " if diff > 0 else "") + text)
        color = "#ef4444" if diff < 0 else "#f59e0b" if diff > 0 else "#22c55e"
        self.values["Difference"].setStyleSheet(f"font-size: 22px; font-weight: 800; color: {color};")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        else:
            super().keyPressEvent(event)

    def submit(self) -> None:
        cashier, counts = self.win.cashier, self.counter.counts()
        if cashier is None:
            return
        if self.win.shift is None:
            set_message(self.message, "Opening…")

            def opened(_state: Any) -> None:
                set_message(self.message, "Shift open. Ready to sell.")
                self.win.after_money_change(then=lambda: self.win.go("sell"))
            self.win.worker.run(lambda: self.win.service.open_shift(cashier, counts), opened, self.fail(self.message))
            return
        state = self.win.shift
        diff = rules.count_total(counts) - state.expected_cash_units

        def close(approver: StaffMember | None) -> None:
            set_message(self.message, "Closing…")
            self.win.worker.run(lambda: self.win.service.close_shift(cashier, counts, approver), self._closed,
                                self.fail(self.message))
        if rules.shortage_needs_manager(diff, self.win.limits):
            what = "short" if diff < 0 else "over"
            self.win.approve("Approve drawer difference",
                             f"The drawer is {what} by {format_units(abs(diff), state.currency)} {state.currency}.",
                             lambda approver, _r: close(approver), need_reason=False)
        else:
            close(None)

    def _closed(self, report: ShiftReport) -> None:
        self.report.show_receipt(self.win.service._shift_receipt(report, report.shift_id))
        set_message(self.message, "Shift closed. The report printed.")
        self.win.after_money_change()


class AdjustScreen(Screen):
    title = "Drawer adjustment"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        box, layout = panel()
        self.header(layout, "A manager corrects the drawer: a positive amount puts cash in, a negative one takes it out.")
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("Amount, e.g. 5.00 or -5.00")
        layout.addWidget(self.amount)
        self.apply = button("Apply (manager)", "primary", key="Enter")
        self.apply.clicked.connect(self.submit)
        self.amount.returnPressed.connect(self.submit)
        layout.addWidget(self.apply)
        self.void = button("Void last sale (manager)", "danger", key="F4")
        self.void.clicked.connect(self.win.void_last_sale)
        layout.addWidget(self.void)
        self.message = label("", "message", wrap=True)
        layout.addWidget(self.message)
        outer.addLayout(_centered(box, 760))
        self.receipt = ReceiptView()
        outer.addLayout(_centered(self.receipt, 760), 1)

    def submit(self) -> None:
        cashier = self.win.cashier
        try:
            amount = Money.parse(self.amount.text(), self.win.currency).units
        except ValidationError as exc:
            set_message(self.message, exc.message, error=True)
            return
        if cashier is None:
            return

        def approved(approver: StaffMember, reason: str) -> None:
            def done(result: Done) -> None:
                self.amount.clear()
                set_message(self.message, "Adjustment recorded.")
                self.receipt.show_receipt(result.receipt, result.printer_problem)
                self.win.after_money_change()
            self.win.worker.run(lambda: self.win.service.adjust(cashier, approver, amount, reason), done, self.fail(self.message))
        self.win.approve("Approve adjustment", f"Drawer adjustment of {format_units(amount, self.win.currency)}.", approved,
                         need_reason=True)
