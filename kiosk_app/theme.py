"""The kiosk's look: a dark, rich casino palette, big touch targets, one style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QRadialGradient
from PySide6.QtWidgets import QWidget

BG_TOP = "#1a0b2e"
BG_BOTTOM = "#07030f"
PANEL = "#24123f"
PANEL_EDGE = "#5b2a86"
GOLD = "#f6c945"
GOLD_DARK = "#b8860b"
TEXT = "#f4ecff"
MUTED = "#b9a6d6"
GREEN = "#2ecc71"
RED = "#ff4d6d"
CYAN = "#3ee0ff"
TOUCH_PX = 72  # every control a player presses is at least this tall (≥ 64 px)

STYLE = f"""
QWidget {{ color: {TEXT}; font-family: "DejaVu Sans", "Segoe UI", sans-serif; font-size: 20px; }}
QLabel#title {{ font-size: 46px; font-weight: 800; color: {GOLD}; }}
QLabel#subtitle {{ font-size: 24px; color: {MUTED}; }}
QLabel#message {{ font-size: 22px; color: {GOLD}; }}
QLabel#error {{ font-size: 22px; color: {RED}; font-weight: 700; }}
QLabel#meterCaption {{ font-size: 15px; color: {MUTED}; letter-spacing: 2px; font-weight: 700; }}
QLabel#meterValue {{ font-size: 34px; font-weight: 800; color: {GOLD}; }}
QLabel#bigValue {{ font-size: 64px; font-weight: 900; color: {GOLD}; }}
QFrame#panel {{ background: rgba(36, 18, 63, 215); border: 2px solid {PANEL_EDGE}; border-radius: 22px; }}
QFrame#topbar {{ background: rgba(10, 4, 22, 200); border-bottom: 2px solid {PANEL_EDGE}; }}
QFrame#banner {{ background: #8a1c2b; border-bottom: 2px solid {RED}; }}
QLabel#bannerText {{ font-size: 20px; font-weight: 700; color: white; }}
QPushButton {{
    min-height: {TOUCH_PX}px; padding: 0 28px; border-radius: 18px; font-size: 24px; font-weight: 800;
    color: {TEXT}; background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #4b2384, stop:1 #2b1150);
    border: 2px solid #7a44c2;
}}
QPushButton:pressed {{ background: #1d0b38; }}
QPushButton:disabled {{ color: #7f6d99; background: #2a1f3a; border-color: #3d2f52; }}
QPushButton#primary {{
    color: #2a1500; background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #ffe27a, stop:0.5 {GOLD}, stop:1 {GOLD_DARK});
    border: 2px solid #fff1b8;
}}
QPushButton#primary:disabled {{ color: #6b5a2a; background: #5a4a20; border-color: #6b5a2a; }}
QPushButton#danger {{ background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #d6334f, stop:1 #7d1022); border-color: #ff8da1; }}
QPushButton#method {{ min-height: 96px; font-size: 28px; }}
QPushButton#method:checked {{ color: #2a1500; background: qlineargradient(x1:0, y1:0, x2:0, y2:1, stop:0 #ffe27a,
    stop:0.5 {GOLD}, stop:1 {GOLD_DARK}); border: 3px solid #fff1b8; }}
QPushButton#key {{ min-width: 96px; min-height: 80px; font-size: 32px; border-radius: 16px; }}
QPushButton#spot {{ min-height: 64px; }}
QLineEdit {{
    min-height: {TOUCH_PX}px; font-size: 30px; padding: 0 18px; border-radius: 14px; background: #0f0620;
    border: 2px solid #7a44c2; color: {TEXT}; selection-background-color: {GOLD}; selection-color: black;
}}
QLineEdit:focus {{ border: 3px solid {GOLD}; }}
QCheckBox {{ font-size: 22px; spacing: 14px; }}
QCheckBox::indicator {{ width: 40px; height: 40px; border-radius: 8px; border: 2px solid {GOLD}; background: #0f0620; }}
QCheckBox::indicator:checked {{ background: {GOLD}; }}
QListWidget {{ background: rgba(15, 6, 32, 220); border: 2px solid {PANEL_EDGE}; border-radius: 16px; font-size: 20px; }}
QListWidget::item {{ min-height: 64px; padding: 4px 14px; border-bottom: 1px solid #2c1a48; }}
QListWidget::item:selected {{ background: #5b2a86; color: white; }}
QScrollBar:vertical {{ width: 26px; background: #12081f; }}
QScrollBar::handle:vertical {{ background: #5b2a86; min-height: 60px; border-radius: 10px; }}
"""


def paint_background(widget: QWidget, painter: QPainter) -> None:
    """The shared backdrop: a deep vertical gradient with a soft purple glow up top."""
    rect = widget.rect()
    gradient = QLinearGradient(0, 0, 0, rect.height())
    gradient.setColorAt(0.0, QColor(BG_TOP))
    gradient.setColorAt(1.0, QColor(BG_BOTTOM))
    painter.fillRect(rect, gradient)
    glow = QRadialGradient(rect.width() * 0.5, -rect.height() * 0.1, rect.width() * 0.7)
    glow.setColorAt(0.0, QColor(140, 60, 220, 110))
    glow.setColorAt(1.0, QColor(140, 60, 220, 0))
    painter.fillRect(rect, glow)


def font(size_px: int, weight: QFont.Weight = QFont.Weight.Bold) -> QFont:
    f = QFont("DejaVu Sans")
    f.setPixelSize(size_px)
    f.setWeight(weight)
    return f
