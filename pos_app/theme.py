"""The POS look: a calm dark slate with one teal accent, large amounts, big touch targets."""

from __future__ import annotations

BG = "#0f172a"
PANEL = "#1e293b"
PANEL_EDGE = "#334155"
TEXT = "#e2e8f0"
MUTED = "#94a3b8"
ACCENT = "#14b8a6"
ACCENT_DARK = "#0f766e"
GOOD = "#22c55e"
WARN = "#f59e0b"
BAD = "#ef4444"
TOUCH_PX = 48  # every control a cashier presses is at least this tall (touch needs >= 44 px)
FIELD_PX = 44  # text fields and counts
KEY_PX = 48  # keypad keys at their smallest; they grow with the window

STYLE = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-family: "DejaVu Sans", "Segoe UI", sans-serif; font-size: 17px; }}
QFrame#panel {{ background: {PANEL}; border: 1px solid {PANEL_EDGE}; border-radius: 14px; }}
QFrame#panel QLabel, QFrame#panel QCheckBox {{ background: transparent; }}
QFrame#topbar {{ background: #020617; border-bottom: 1px solid {PANEL_EDGE}; }}
QFrame#topbar QLabel {{ background: transparent; }}
QFrame#nav {{ background: #020617; border-right: 1px solid {PANEL_EDGE}; }}
QFrame#nav QLabel {{ background: transparent; }}
QFrame#banner {{ background: #7c2d12; }}
QFrame#banner QLabel {{ background: transparent; color: white; font-weight: 700; }}
QLabel#title {{ font-size: 28px; font-weight: 800; }}
QLabel#subtitle {{ font-size: 17px; color: {MUTED}; }}
QLabel#caption {{ font-size: 13px; color: {MUTED}; font-weight: 700; letter-spacing: 1px; }}
QLabel#amount {{ font-size: 44px; font-weight: 800; color: {TEXT}; }}
QLabel#bigAmount {{ font-size: 56px; font-weight: 900; color: {ACCENT}; }}
QLabel#good {{ color: {GOOD}; font-weight: 700; }}
QLabel#bad {{ color: {BAD}; font-weight: 800; }}
QLabel#warn {{ color: {WARN}; font-weight: 700; }}
QLabel#message {{ font-size: 18px; color: {ACCENT}; font-weight: 700; }}
QLabel#error {{ font-size: 18px; color: {BAD}; font-weight: 700; }}
QLabel#brand {{ font-size: 20px; font-weight: 900; color: {ACCENT}; }}
QPushButton {{
    min-height: {TOUCH_PX}px; padding: 0 18px; border-radius: 10px; font-size: 17px; font-weight: 700;
    color: {TEXT}; background: {PANEL_EDGE}; border: 1px solid #475569;
}}
QPushButton:hover {{ background: #3b4b63; }}
QPushButton:pressed {{ background: #1e293b; }}
QPushButton:disabled {{ color: #64748b; background: #1e293b; border-color: #334155; }}
QPushButton#primary {{ background: {ACCENT_DARK}; border-color: {ACCENT}; color: white; }}
QPushButton#primary:hover {{ background: #115e59; }}
QPushButton#danger {{ background: #7f1d1d; border-color: {BAD}; color: white; }}
QPushButton#primary:disabled, QPushButton#danger:disabled {{ color: #64748b; background: #1e293b; border-color: #334155; }}
QPushButton#nav {{ text-align: left; padding-left: 16px; background: transparent; border: none; border-radius: 8px; }}
QPushButton#nav:checked {{ background: {ACCENT_DARK}; color: white; }}
QPushButton#key {{ font-size: 26px; min-height: {KEY_PX}px; }}
QPushButton#preset {{ font-size: 20px; }}
QPushButton[twoLines="true"] {{ min-height: 68px; }}
QLineEdit, QDateEdit, QSpinBox {{
    min-height: {FIELD_PX}px; padding: 0 12px; border-radius: 8px; border: 1px solid #475569; background: #020617;
    font-size: 19px; selection-background-color: {ACCENT_DARK};
}}
QLineEdit:focus, QSpinBox:focus, QDateEdit:focus {{ border: 2px solid {ACCENT}; }}
QSpinBox::up-button, QSpinBox::down-button {{ width: 0; border: none; }}
QScrollArea#fit {{ background: transparent; border: none; }}
QScrollArea#fit > QWidget#qt_scrollarea_viewport, QWidget#counterRows {{ background: transparent; }}
QWidget#counterRows QLabel {{ background: transparent; }}
QTableWidget {{ background: {PANEL}; gridline-color: {PANEL_EDGE}; border: none; font-size: 16px; }}
QTableWidget::item:selected {{ background: {ACCENT_DARK}; }}
QHeaderView::section {{ background: #020617; color: {MUTED}; border: none; padding: 8px; font-weight: 700; }}
QPlainTextEdit {{ background: white; color: black; font-family: "DejaVu Sans Mono", monospace; font-size: 14px; border-radius: 8px; }}
QDialog {{ background: {PANEL}; }}
QRadioButton {{ spacing: 12px; font-size: 18px; background: transparent; min-height: {FIELD_PX}px; }}
QRadioButton:checked {{ color: white; font-weight: 700; }}
QRadioButton:disabled {{ color: #64748b; }}
QRadioButton::indicator {{ width: 22px; height: 22px; border-radius: 13px; border: 2px solid {MUTED}; background: #020617; }}
QRadioButton::indicator:hover {{ border-color: {TEXT}; }}
QRadioButton::indicator:checked {{
    border: 2px solid {ACCENT};
    background: qradialgradient(cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5,
                                stop: 0 {ACCENT}, stop: 0.5 {ACCENT}, stop: 0.6 #020617, stop: 1 #020617);
}}
QCheckBox {{ font-size: 17px; }}
"""
