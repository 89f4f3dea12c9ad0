"""Game art drawn with QPainter: reel and scratch symbols, and lobby thumbnails.

Packages may ship images later; drawn art keeps the kiosk complete without binary files
and scales cleanly from 1366×768 to 1920×1080.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QLinearGradient, QPainter, QPainterPath, QPen, QPixmap, QPolygonF, QRadialGradient

from kiosk_app import theme

FRUIT_COLORS = {
    "lemon": ("#fff06a", "#d4b000"), "orange": ("#ffb347", "#e06c00"), "plum": ("#b07cff", "#5a1e9c"),
    "melon": ("#8be36a", "#2f8f1c"), "cherry": ("#ff5a6e", "#a0001a"), "nugget": ("#ffd36a", "#b07800"),
    "pickaxe": ("#c9d2dc", "#5d6b7a"), "lantern": ("#ffb45a", "#b35400"), "cart": ("#c98a5a", "#6b3a14"),
    "pan": ("#d8d8e8", "#7c7c96"),
}


def _radial(rect: QRectF, light: str, dark: str) -> QRadialGradient:
    g = QRadialGradient(rect.center().x() - rect.width() * 0.18, rect.center().y() - rect.height() * 0.22, rect.width() * 0.7)
    g.setColorAt(0.0, QColor(light).lighter(130))
    g.setColorAt(0.5, QColor(light))
    g.setColorAt(1.0, QColor(dark))
    return g


def _star(center: QPointF, outer: float, inner: float, points: int = 5) -> QPolygonF:
    poly = QPolygonF()
    for i in range(points * 2):
        r = outer if i % 2 == 0 else inner
        a = -math.pi / 2 + i * math.pi / points
        poly.append(QPointF(center.x() + r * math.cos(a), center.y() + r * math.sin(a)))
    return poly


def draw_symbol(p: QPainter, rect: QRectF, name: str) -> None:
    """One symbol filling ``rect`` (square-ish), anti-aliased."""
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = min(rect.width(), rect.height()) * 0.8
    box = QRectF(rect.center().x() - s / 2, rect.center().y() - s / 2, s, s)
    outline = QPen(QColor(0, 0, 0, 140), max(2.0, s * 0.03))
    if name == "star":
        p.setPen(QPen(QColor("#fff4b0"), max(2.0, s * 0.03)))
        p.setBrush(_radial(box, "#ffe680", "#d08a00"))
        p.drawPolygon(_star(box.center(), s * 0.5, s * 0.22))
        p.setPen(QColor("#4a1d00"))
        p.setFont(theme.font(int(s * 0.17)))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, "WILD")
    elif name == "seven":
        p.setFont(theme.font(int(s * 0.95)))
        path = QPainterPath()
        path.addText(box.left() + s * 0.2, box.bottom() - s * 0.1, p.font(), "7")
        p.setPen(QPen(QColor("#ffe680"), max(2.0, s * 0.045)))
        g = QLinearGradient(box.topLeft(), box.bottomLeft())
        g.setColorAt(0, QColor("#ff6b6b"))
        g.setColorAt(1, QColor("#a0001a"))
        p.setBrush(g)
        p.drawPath(path)
    elif name == "bell":
        path = QPainterPath()
        c, w, h = box.center(), s * 0.8, s * 0.8
        path.moveTo(c.x(), c.y() - h * 0.5)
        path.cubicTo(c.x() + w * 0.35, c.y() - h * 0.5, c.x() + w * 0.3, c.y() + h * 0.1, c.x() + w * 0.5, c.y() + h * 0.3)
        path.lineTo(c.x() - w * 0.5, c.y() + h * 0.3)
        path.cubicTo(c.x() - w * 0.3, c.y() + h * 0.1, c.x() - w * 0.35, c.y() - h * 0.5, c.x(), c.y() - h * 0.5)
        p.setPen(outline)
        p.setBrush(_radial(box, "#ffe27a", "#b8860b"))
        p.drawPath(path)
        p.drawEllipse(QPointF(c.x(), c.y() + h * 0.38), s * 0.09, s * 0.09)
    elif name == "cherry":
        p.setPen(QPen(QColor("#2f8f1c"), max(2.0, s * 0.05)))
        top = QPointF(box.center().x() + s * 0.1, box.top() + s * 0.05)
        for dx in (-0.22, 0.2):
            p.drawLine(top, QPointF(box.center().x() + dx * s, box.center().y() + s * 0.05))
        p.setPen(outline)
        for dx in (-0.22, 0.2):
            ball = QRectF(box.center().x() + dx * s - s * 0.2, box.center().y(), s * 0.4, s * 0.4)
            p.setBrush(_radial(ball, "#ff5a6e", "#a0001a"))
            p.drawEllipse(ball)
    elif name == "diamond":
        c = box.center()
        poly = QPolygonF([QPointF(c.x() - s * 0.45, c.y() - s * 0.12), QPointF(c.x() - s * 0.25, c.y() - s * 0.38),
                          QPointF(c.x() + s * 0.25, c.y() - s * 0.38), QPointF(c.x() + s * 0.45, c.y() - s * 0.12),
                          QPointF(c.x(), c.y() + s * 0.45)])
        p.setPen(QPen(QColor("#e0fbff"), max(2.0, s * 0.03)))
        p.setBrush(_radial(box, "#9ff3ff", "#1a7fb0"))
        p.drawPolygon(poly)
    elif name == "crown":
        c = box.center()
        poly = QPolygonF([QPointF(c.x() - s * 0.45, c.y() + s * 0.3), QPointF(c.x() - s * 0.45, c.y() - s * 0.25),
                          QPointF(c.x() - s * 0.2, c.y()), QPointF(c.x(), c.y() - s * 0.4), QPointF(c.x() + s * 0.2, c.y()),
                          QPointF(c.x() + s * 0.45, c.y() - s * 0.25), QPointF(c.x() + s * 0.45, c.y() + s * 0.3)])
        p.setPen(outline)
        p.setBrush(_radial(box, "#ffe27a", "#b8860b"))
        p.drawPolygon(poly)
        p.setBrush(QColor(theme.RED))
        p.drawEllipse(QPointF(c.x(), c.y() + s * 0.12), s * 0.07, s * 0.07)
    elif name == "gold-bar":
        c = box.center()
        poly = QPolygonF([QPointF(c.x() - s * 0.45, c.y() + s * 0.25), QPointF(c.x() - s * 0.3, c.y() - s * 0.2),
                          QPointF(c.x() + s * 0.3, c.y() - s * 0.2), QPointF(c.x() + s * 0.45, c.y() + s * 0.25)])
        p.setPen(outline)
        p.setBrush(_radial(box, "#ffe27a", "#a07000"))
        p.drawPolygon(poly)
        p.setPen(QColor("#5a3a00"))
        p.setFont(theme.font(int(s * 0.16)))
        p.drawText(QRectF(c.x() - s * 0.4, c.y() - s * 0.15, s * 0.8, s * 0.35), Qt.AlignmentFlag.AlignCenter, "GOLD")
    else:
        light, dark = FRUIT_COLORS.get(name, ("#b9a6d6", "#4b2384"))
        p.setPen(outline)
        p.setBrush(_radial(box, light, dark))
        inset = 0.12 if name == "lemon" else 0.06
        shape = box.adjusted(s * 0.06, s * inset, -s * 0.06, -s * inset)
        p.drawEllipse(shape)
        if name == "melon":
            p.setPen(QPen(QColor("#1c5e10"), max(2.0, s * 0.04)))
            for k in (-0.2, 0.0, 0.2):
                p.drawArc(shape.adjusted(s * (0.3 + k), 0, -s * (0.3 - k), 0), 90 * 16, 180 * 16)
        elif name in ("orange", "plum"):
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#2f8f1c"))
            p.drawEllipse(QRectF(box.center().x() - s * 0.05, box.top(), s * 0.22, s * 0.12))
        elif name not in FRUIT_COLORS or name in ("nugget", "pickaxe", "lantern", "cart", "pan"):
            p.setPen(QColor("#1a0b2e"))
            text = name.replace("-", " ").upper()[:7]
            p.setFont(theme.font(max(8, int(s * min(0.2, 1.2 / max(1, len(text)))))))
            p.drawText(shape, Qt.AlignmentFlag.AlignCenter, text)
    p.restore()


def thumbnail(engine: str, title: str, width: int, height: int, *, enabled: bool = True, subtitle: str = "") -> QPixmap:
    """A lobby tile picture for a game of ``engine``: art, the title and a small ``subtitle`` line (its RTP)."""
    pix = QPixmap(width, height)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    frame = QRectF(3, 3, width - 6, height - 6)
    bg = QLinearGradient(0, 0, 0, height)
    colors = {"reels": ("#5a1e9c", "#1a0b2e"), "keno": ("#0f5a8a", "#061a2e"), "pool": ("#8a5a0f", "#2e1a06")}
    top, bottom = colors.get(engine, ("#3b2a5c", "#120a20"))
    bg.setColorAt(0, QColor(top))
    bg.setColorAt(1, QColor(bottom))
    p.setPen(QPen(QColor(theme.GOLD), 4))
    p.setBrush(QBrush(bg))
    p.drawRoundedRect(frame, 26, 26)
    art = QRectF(frame.left() + 20, frame.top() + 20, frame.width() - 40, frame.height() * (0.56 if subtitle else 0.6))
    if engine == "reels":
        for i, name in enumerate(("seven", "cherry", "star")):
            cell = QRectF(art.left() + i * art.width() / 3, art.top(), art.width() / 3, art.height())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(255, 255, 255, 235))
            p.drawRoundedRect(cell.adjusted(6, 6, -6, -6), 14, 14)
            draw_symbol(p, cell.adjusted(10, 10, -10, -10), name)
    elif engine == "keno":
        # Two rows of five balls, a gap of a fifth of a radius between neighbours: they never overlap.
        r = min(art.height() / 4.4, art.width() / 10.8)
        step = r * 2.2
        first_x = art.center().x() - 2 * step
        first_y = art.center().y() - step / 2
        for i in range(10):
            cx = first_x + (i % 5) * step
            cy = first_y + (i // 5) * step
            ball = QRectF(cx - r, cy - r, 2 * r, 2 * r)
            p.setPen(QPen(QColor("#ffffff"), 2))
            p.setBrush(_radial(ball, "#ffe27a" if i in (1, 4, 7) else "#7fd4ff", "#b8860b" if i in (1, 4, 7) else "#1a5f8f"))
            p.drawEllipse(ball)
            p.setPen(QColor("#10061f"))
            p.setFont(theme.font(int(r * 0.9)))
            p.drawText(ball, Qt.AlignmentFlag.AlignCenter, str((i * 17) % 80 + 1))
    else:
        card = art.adjusted(art.width() * 0.12, 0, -art.width() * 0.12, 0)
        foil = QLinearGradient(card.topLeft(), card.bottomRight())
        foil.setColorAt(0, QColor("#f0f0f8"))
        foil.setColorAt(0.5, QColor("#9c9cb0"))
        foil.setColorAt(1, QColor("#e0e0ea"))
        p.setPen(QPen(QColor(theme.GOLD), 3))
        p.setBrush(foil)
        p.drawRoundedRect(card, 16, 16)
        draw_symbol(p, QRectF(card.left(), card.top(), card.width() / 2, card.height()), "gold-bar")
        draw_symbol(p, QRectF(card.center().x(), card.top(), card.width() / 2, card.height()), "diamond")
    p.setPen(QColor(theme.TEXT if enabled else theme.MUTED))
    p.setFont(theme.font(max(18, int(height * 0.085))))
    title_rect = QRectF(frame.left(), art.bottom() + 6, frame.width(), frame.height() * (0.17 if subtitle else 0.22))
    p.drawText(title_rect, Qt.AlignmentFlag.AlignCenter, title)
    if subtitle:
        p.setPen(QColor(theme.MUTED if enabled else "#7f6d99"))
        p.setFont(theme.font(max(15, int(height * 0.05)), theme.QFont.Weight.DemiBold))
        p.drawText(QRectF(frame.left(), title_rect.bottom(), frame.width(), frame.height() * 0.1),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, subtitle)
    if not enabled:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 120))
        p.drawRoundedRect(frame, 26, 26)
    p.end()
    return pix
