"""One view per game engine: reels with paylines, an 80-number keno board, a scratch card.

A view only shows a ``RoundResult`` the service already journaled; it never decides
anything. ``show_result`` starts the animation (or jumps to the end when
``animation_scale`` is 0, as tests and game recall use) and ``sig_shown`` fires when the
outcome is on screen in full.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence

from PySide6.QtCore import QEasingCurve, QPointF, QRectF, Qt, QTimer, QVariantAnimation, Signal
from PySide6.QtGui import QColor, QLinearGradient, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QRadialGradient
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk_app import theme
from kiosk_app.art import draw_symbol
from kiosk_app.sounds import Sounds
from shared.games.definition import GameDefinition
from shared.games.keno import KenoMath
from shared.games.pool import PoolMath
from shared.games.reels import ReelsMath
from shared.games.round import RoundResult

LINE_COLORS = ("#f6c945", "#3ee0ff", "#ff4d6d", "#2ecc71", "#ff9f1c", "#c77dff", "#ffffff", "#ff6bd6", "#9ef01a", "#4cc9f0")


class GameView(QWidget):
    """Base of the engine views."""

    sig_shown = Signal()
    """The round's outcome is fully on screen (animation over)."""
    sig_picks_changed = Signal()
    """The player's selection changed (keno spots)."""

    def __init__(self, definition: GameDefinition, sounds: Sounds | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.definition = definition
        self.sounds = sounds
        self.animation_scale = 1.0
        self.result: RoundResult | None = None
        self.animating = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(560, 300)  # leaves room for the offline banner at 768 px high

    def _sound(self, name: str) -> None:
        if self.sounds is not None:
            self.sounds.play(name)

    def picks(self) -> list[int] | None:
        return None

    def ready_reason(self) -> str | None:
        """Why the player cannot start a round yet, or None."""
        return None

    def show_result(self, result: RoundResult) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        self.animating = False
        self.update()
        self.sig_shown.emit()


class ReelsView(GameView):
    """Spinning reels that stop one after another; winning lines drawn over the window."""

    def __init__(self, definition: GameDefinition, sounds: Sounds | None = None, parent: QWidget | None = None):
        super().__init__(definition, sounds, parent)
        assert isinstance(definition.math, ReelsMath)
        self.math: ReelsMath = definition.math
        self.positions = [float(secrets.randbelow(len(s))) for s in self.math.strips]
        self._anims: list[QVariantAnimation] = []
        self._stopped = 0
        self._pulse = 0.0
        self._pulse_timer = QTimer(self)
        self._pulse_timer.setInterval(50)
        self._pulse_timer.timeout.connect(self._tick_pulse)

    def show_result(self, result: RoundResult) -> None:
        self.result = result
        self.animating = True
        self._pulse_timer.stop()
        for anim in self._anims:
            anim.stop()
        self._anims = []
        self._stopped = 0
        if self.animation_scale <= 0:
            self.positions = [float(s) for s in result.draws]
            self._all_stopped()
            return
        self._sound("spin")
        for i, stop in enumerate(result.draws):
            length = len(self.math.strips[i])
            start = self.positions[i] % length
            end = float(stop) + length * (3 + i)  # whole turns, then the stop
            while end < start + length:
                end += length
            anim = QVariantAnimation(self)
            anim.setStartValue(start)
            anim.setEndValue(end)
            anim.setDuration(int((700 + 260 * i) * self.animation_scale))
            anim.setEasingCurve(QEasingCurve.Type.OutBack)
            anim.valueChanged.connect(lambda v, i=i: self._move(i, float(v)))
            anim.finished.connect(self._reel_stopped)
            self._anims.append(anim)
            anim.start()

    def _move(self, reel: int, value: float) -> None:
        self.positions[reel] = value
        self.update()

    def _reel_stopped(self) -> None:
        self._stopped += 1
        self._sound("stop")
        if self._stopped == len(self._anims):
            assert self.result is not None
            self.positions = [float(s) for s in self.result.draws]
            self._all_stopped()

    def _all_stopped(self) -> None:
        assert self.result is not None
        if self.result.win_units and self.animation_scale > 0:
            self._pulse_timer.start()
        self._finish()

    def _tick_pulse(self) -> None:
        self._pulse += 0.25
        self.update()

    def winning_lines(self) -> list[dict[str, object]]:
        if self.result is None or self.animating:
            return []
        return list(self.result.outcome.get("lines", []))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        reels = len(self.math.strips)
        margin = 18
        area = QRectF(self.rect()).adjusted(margin, margin, -margin, -margin)
        cell_w = area.width() / reels
        cell_h = area.height() / 3
        frame = QLinearGradient(area.topLeft(), area.bottomLeft())
        frame.setColorAt(0, QColor("#ffe27a"))
        frame.setColorAt(1, QColor(theme.GOLD_DARK))
        p.setPen(QPen(frame, 8))
        p.setBrush(QColor("#0b0418"))
        p.drawRoundedRect(area.adjusted(-8, -8, 8, 8), 24, 24)
        for r in range(reels):
            column = QRectF(area.left() + r * cell_w + 5, area.top(), cell_w - 10, area.height())
            g = QLinearGradient(column.topLeft(), column.bottomLeft())
            g.setColorAt(0, QColor("#cfc6dd"))
            g.setColorAt(0.15, QColor("#fdfbff"))
            g.setColorAt(0.85, QColor("#fdfbff"))
            g.setColorAt(1, QColor("#cfc6dd"))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(g)
            p.drawRoundedRect(column, 14, 14)
            p.save()
            p.setClipRect(column)
            strip = self.math.strips[r]
            pos = self.positions[r]
            base = math.floor(pos)
            frac = pos - base
            for row in range(-1, 4):
                symbol = strip[(base + row) % len(strip)]
                y = column.top() + (row - frac) * cell_h
                draw_symbol(p, QRectF(column.left(), y, column.width(), cell_h).adjusted(10, 10, -10, -10), symbol)
            p.restore()
        self._paint_lines(p, area, cell_w, cell_h)
        p.end()

    def _paint_lines(self, p: QPainter, area: QRectF, cell_w: float, cell_h: float) -> None:
        glow = 0.5 + 0.5 * math.sin(self._pulse)
        for win in self.winning_lines():
            index = int(win["line"])  # type: ignore[call-overload]
            rows = self.math.paylines[index]
            color = QColor(LINE_COLORS[index % len(LINE_COLORS)])
            points = [QPointF(area.left() + (r + 0.5) * cell_w, area.top() + (row + 0.5) * cell_h) for r, row in enumerate(rows)]
            path = QPainterPath(points[0])
            for pt in points[1:]:
                path.lineTo(pt)
            halo = QColor(color)
            halo.setAlpha(int(90 + 80 * glow))
            p.setPen(QPen(halo, 16, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.setPen(QPen(color, 6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            p.drawPath(path)
            p.setPen(QPen(color, 5))
            for r in range(int(win["count"])):  # type: ignore[call-overload]
                cell = QRectF(area.left() + r * cell_w + 8, area.top() + rows[r] * cell_h + 4, cell_w - 16, cell_h - 8)
                p.drawRoundedRect(cell, 12, 12)


class KenoView(GameView):
    """The 80-number board: touch to mark spots, then the 20 balls are drawn one by one."""

    COLS, ROWS = 10, 8

    def __init__(self, definition: GameDefinition, sounds: Sounds | None = None, parent: QWidget | None = None):
        super().__init__(definition, sounds, parent)
        assert isinstance(definition.math, KenoMath)
        self.math: KenoMath = definition.math
        self.max_spots = max(self.math.pays)
        self.marked: list[int] = []
        self.shown_drawn: list[int] = []
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._next_ball)

    def picks(self) -> list[int]:
        return list(self.marked)

    def ready_reason(self) -> str | None:
        if len(self.marked) not in self.math.pays:
            return f"Mark 1 to {self.max_spots} numbers on the board."
        return None

    def set_picks(self, numbers: Sequence[int]) -> None:
        self.marked = list(numbers)[: self.max_spots]
        self._clear_draw()
        self.sig_picks_changed.emit()

    def quick_pick(self, count: int = 5) -> None:
        pool = list(range(1, 81))
        chosen = []
        for _ in range(min(count, self.max_spots)):
            chosen.append(pool.pop(secrets.randbelow(len(pool))))
        self.set_picks(sorted(chosen))

    def _clear_draw(self) -> None:
        if not self.animating:
            self.result = None
            self.shown_drawn = []
        self.update()

    def cell_rect(self, number: int) -> QRectF:
        board = self._board()
        w, h = board.width() / self.COLS, board.height() / self.ROWS
        i = number - 1
        return QRectF(board.left() + (i % self.COLS) * w, board.top() + (i // self.COLS) * h, w, h)

    def _board(self) -> QRectF:
        return QRectF(self.rect()).adjusted(16, 16, -16, -16)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.animating:
            return
        for number in range(1, 81):
            if self.cell_rect(number).contains(event.position()):
                if number in self.marked:
                    self.marked.remove(number)
                elif len(self.marked) < self.max_spots:
                    self.marked.append(number)
                self._sound("click")
                self._clear_draw()
                self.sig_picks_changed.emit()
                return

    def show_result(self, result: RoundResult) -> None:
        self.result = result
        self.marked = list(result.outcome.get("picks", self.marked))
        self.shown_drawn = []
        self.animating = True
        if self.animation_scale <= 0:
            self.shown_drawn = list(result.outcome.get("drawn", result.draws))
            self._finish()
            return
        self._timer.start(max(1, int(110 * self.animation_scale)))

    def _next_ball(self) -> None:
        assert self.result is not None
        drawn = list(self.result.outcome.get("drawn", self.result.draws))
        self.shown_drawn.append(drawn[len(self.shown_drawn)])
        self._sound("ball")
        self.update()
        if len(self.shown_drawn) == len(drawn):
            self._timer.stop()
            self._finish()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        board = self._board()
        p.setPen(QPen(QColor(theme.GOLD), 4))
        p.setBrush(QColor(8, 3, 20, 220))
        p.drawRoundedRect(board.adjusted(-10, -10, 10, 10), 22, 22)
        drawn = set(self.shown_drawn)
        latest = self.shown_drawn[-1] if self.shown_drawn and self.animating else None
        for number in range(1, 81):
            cell = self.cell_rect(number).adjusted(4, 4, -4, -4)
            r = min(cell.width(), cell.height()) / 2
            ball = QRectF(cell.center().x() - r, cell.center().y() - r, 2 * r, 2 * r)
            marked, hit = number in self.marked, number in drawn
            if hit and marked:
                light, dark, text = "#fff1a8", theme.GOLD_DARK, "#2a1500"
            elif hit:
                light, dark, text = "#8fe3ff", "#1a5f8f", "#04121f"
            elif marked:
                light, dark, text = "#ff8da1", "#9c1030", "#ffffff"
            else:
                light, dark, text = "#3a2460", "#1c0f33", theme.MUTED
            g = QRadialGradient(ball.center().x() - r * 0.3, ball.center().y() - r * 0.35, r * 1.4)
            g.setColorAt(0, QColor(light))
            g.setColorAt(1, QColor(dark))
            p.setPen(QPen(QColor("#ffffff") if number == latest else QColor(0, 0, 0, 120), 4 if number == latest else 1.5))
            p.setBrush(g)
            p.drawEllipse(ball)
            p.setPen(QColor(text))
            p.setFont(theme.font(int(r * 0.85)))
            p.drawText(ball, Qt.AlignmentFlag.AlignCenter, str(number))
        p.end()


class ScratchView(GameView):
    """A 3×3 instant ticket: silver foil comes off cell by cell; three alike win."""

    def __init__(self, definition: GameDefinition, sounds: Sounds | None = None, parent: QWidget | None = None):
        super().__init__(definition, sounds, parent)
        assert isinstance(definition.math, PoolMath)
        self.cover = [1.0] * 9
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._scratch)
        self._step = 0

    def cells(self) -> list[str]:
        return list(self.result.outcome.get("cells", [])) if self.result else []

    def show_result(self, result: RoundResult) -> None:
        self.result = result
        self.animating = True
        self.cover = [1.0] * 9
        self._step = 0
        if self.animation_scale <= 0:
            self.cover = [0.0] * 9
            self._finish()
            return
        self._timer.start(max(1, int(30 * self.animation_scale)))

    def _scratch(self) -> None:
        cell = self._step // 6
        if cell < 9:
            left = self.cover[cell] - 1 / 6
            self.cover[cell] = left if left > 1e-9 else 0.0
            if self._step % 6 == 0:
                self._sound("scratch")
        self._step += 1
        self.update()
        if self._step >= 9 * 6:
            self._timer.stop()
            self.cover = [0.0] * 9
            self._finish()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height()) - 30
        card = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        g = QLinearGradient(card.topLeft(), card.bottomRight())
        g.setColorAt(0, QColor("#8a5a0f"))
        g.setColorAt(1, QColor("#2e1a06"))
        p.setPen(QPen(QColor(theme.GOLD), 6))
        p.setBrush(g)
        p.drawRoundedRect(card, 26, 26)
        cells = self.cells()
        winner = self.result.outcome.get("winning_symbol") if self.result and not self.animating else None
        w = (side - 40) / 3
        for i in range(9):
            rect = QRectF(card.left() + 20 + (i % 3) * w, card.top() + 20 + (i // 3) * w, w, w).adjusted(6, 6, -6, -6)
            won = bool(cells) and cells[i] == winner
            p.setPen(QPen(QColor(theme.GOLD) if won else QColor("#5a3a10"), 6 if won else 2))
            p.setBrush(QColor("#fff8e6"))
            p.drawRoundedRect(rect, 16, 16)
            if cells:
                draw_symbol(p, rect.adjusted(8, 8, -8, -8), cells[i])
            if self.cover[i] > 0:
                foil = QLinearGradient(rect.topLeft(), rect.bottomRight())
                alpha = int(255 * self.cover[i])
                for stop, color in ((0, "#f4f4fa"), (0.5, "#a0a0b4"), (1, "#e4e4ee")):
                    c = QColor(color)
                    c.setAlpha(alpha)
                    foil.setColorAt(stop, c)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(foil)
                p.drawRoundedRect(rect, 16, 16)
                if self.cover[i] == 1.0:
                    p.setPen(QColor(80, 80, 100, alpha))
                    p.setFont(theme.font(int(w * 0.12)))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "SCRATCH")
        p.end()


def view_for(definition: GameDefinition, sounds: Sounds | None = None) -> GameView:
    if isinstance(definition.math, ReelsMath):
        return ReelsView(definition, sounds)
    if isinstance(definition.math, KenoMath):
        return KenoView(definition, sounds)
    return ScratchView(definition, sounds)
