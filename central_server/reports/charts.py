"""Server-rendered charts as inline SVG: pure functions from report rows to markup.

No JavaScript and no dependency: the same SVG goes into the console page and, through
fpdf2, into the PDF export. Values are integer minor units; an axis step is a "nice"
1/2/5 × 10^k number of units found with integer arithmetic, and labels are formatted
with the unit's decimals, so a chart never shows a float artefact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from shared.money import CREDITS, exponent, format_units
from shared.reports import Row

FONT = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
PALETTE = {
    "sales": "#2563eb",     # blue: money in
    "payouts": "#f59e0b",   # amber: money out
    "wagers": "#7c3aed",    # violet
    "wins": "#10b981",      # green
    "net": "#0f766e",
}
MAX_CATEGORIES = 400
"""A bound on bars per chart (a quarter of days, or hundreds of devices)."""
LABEL_CHARS = 28
PAGE_CHART_W = 560
"""Half a console page at 1366 px: the SVG is drawn at about the size it is shown, so text stays legible."""
WIDE_CHART_W = 1120


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    color: str


def nice_step(max_value: int, ticks: int = 4) -> int:
    """The smallest 1/2/5 × 10^k step so that ``ticks`` steps reach ``max_value`` (at least 1)."""
    target = max(1, -(-max_value // ticks))
    magnitude = 1
    while magnitude * 10 <= target:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= target:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop above always returns


def compact_units(units: int, unit: str) -> str:
    """Axis labels: ``1,250.00`` → ``1.3k``; small amounts keep their decimals."""
    whole_units = 10 ** exponent(unit)
    if abs(units) >= 1000 * whole_units:
        thousands_tenths = (abs(units) * 10 + 500 * whole_units) // (1000 * whole_units)
        sign = "-" if units < 0 else ""
        whole, tenth = divmod(thousands_tenths, 10)
        return f"{sign}{whole}.{tenth}k" if tenth else f"{sign}{whole}k"
    text = format_units(units, unit)
    return text[:-3] if text.endswith(".00") else text


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str,
    width: int = 640,
    height: int = 260,
    label_every: int = 1,
    formatter: Callable[[int, str], str] = compact_units,
) -> str:
    """Grouped vertical bars, one group per category, with a legend, gridlines and a zero line.

    Negative values (a day with more voids than sales) go below the zero line.
    """
    categories = list(categories)[:MAX_CATEGORIES]
    count = len(categories)
    top_pad, bottom_pad, left_pad, right_pad = 44, 30, 58, 12
    plot_w, plot_h = width - left_pad - right_pad, height - top_pad - bottom_pad
    values = [v for s in series for v in list(s.values)[:count]]
    high, low = max([0, *values]), min([0, *values])
    step = nice_step(max(high - low, 1))
    axis_top = -(-high // step) * step if high > 0 else 0
    axis_bottom = (low // step) * step if low < 0 else 0
    if axis_top == axis_bottom:
        axis_top = step
    span = axis_top - axis_bottom

    def y_of(value: int) -> float:
        return top_pad + plot_h * (axis_top - value) / span

    parts = [_open(width, height, title), _title(title, left_pad), _legend(series, width - right_pad)]
    tick = axis_bottom
    for _ in range(64):  # bounded: at most a handful of ticks by construction
        if tick > axis_top:
            break
        y = y_of(tick)
        stroke = INK if tick == 0 else GRID
        parts.append(f'<line x1="{left_pad}" y1="{y:.1f}" x2="{width - right_pad}" y2="{y:.1f}" stroke="{stroke}" '
                     f'stroke-width="{1.2 if tick == 0 else 1}"/>')
        parts.append(_text(left_pad - 8, y + 4, formatter(tick, unit), anchor="end", size=11, fill=MUTED))
        tick += step
    if count:
        group_w = plot_w / count
        bar_w = max(1.0, min(28.0, group_w * 0.8 / max(1, len(series))))
        for i, category in enumerate(categories):
            x0 = left_pad + group_w * i + (group_w - bar_w * len(series)) / 2
            for j, s in enumerate(series):
                value = list(s.values)[i] if i < len(s.values) else 0
                if value == 0:
                    continue
                y_top, y_bottom = sorted((y_of(value), y_of(0)))
                label = f"{category} · {s.name}: {format_units(value, unit)} {unit if unit != CREDITS else 'credits'}"
                parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{y_top:.1f}" width="{bar_w - 1:.1f}" '
                             f'height="{max(0.5, y_bottom - y_top):.1f}" rx="2" fill="{s.color}">'
                             f"<title>{escape(label)}</title></rect>")
            if i % max(1, label_every) == 0:
                parts.append(_text(left_pad + group_w * (i + 0.5), height - bottom_pad + 16, category, anchor="middle",
                                   size=11, fill=MUTED))
    else:
        parts.append(_text(width / 2, top_pad + plot_h / 2, "Nothing recorded", anchor="middle", size=13, fill=MUTED))
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(title: str, rows: Sequence[tuple[str, int]], *, unit: str, color: str, width: int = 640,
               row_h: int = 26) -> str:
    """Horizontal bars, one per labelled row (devices, locations), largest first, with the amount at the end."""
    rows = sorted(rows, key=lambda r: (-r[1], r[0]))[:MAX_CATEGORIES]
    longest = max([8, *(len(_shorten(label, LABEL_CHARS)) for label, _ in rows)])
    top_pad, left_pad, right_pad = 44, min(230, 24 + 7 * longest), 96
    height = top_pad + max(1, len(rows)) * row_h + 12
    plot_w = width - left_pad - right_pad
    high = max([1, *(abs(v) for _, v in rows)])
    parts = [_open(width, height, title), _title(title, 12)]
    if not rows:
        parts.append(_text(width / 2, top_pad + 16, "Nothing recorded", anchor="middle", size=13, fill=MUTED))
    for i, (label, value) in enumerate(rows):
        y = top_pad + i * row_h
        bar = plot_w * abs(value) / high
        parts.append(_text(left_pad - 10, y + row_h / 2 + 4, _shorten(label, LABEL_CHARS), anchor="end", size=12, fill=INK))
        parts.append(f'<rect x="{left_pad}" y="{y + 4}" width="{max(1.0, bar):.1f}" height="{row_h - 8}" rx="3" '
                     f'fill="{color if value >= 0 else PALETTE["payouts"]}"><title>{escape(label)}: '
                     f"{escape(format_units(value, unit))}</title></rect>")
        parts.append(_text(left_pad + bar + 8, y + row_h / 2 + 4, format_units(value, unit), size=12, fill=INK))
    parts.append("</svg>")
    return "".join(parts)


# --- the charts a report page shows --------------------------------------------------------------------


def sales_payouts_by_hour(rows: Sequence[Row], *, width: int = PAGE_CHART_W) -> str:
    return bar_chart(
        "Credits sold and paid out, by hour", [r.key for r in rows],
        [Series("Sold", [r.figures.sales_units for r in rows], PALETTE["sales"]),
         Series("Paid out", [r.figures.payouts_units for r in rows], PALETTE["payouts"])],
        unit=CREDITS, width=width, label_every=2 if len(rows) > 12 else 1)


def wagers_wins_by_hour(rows: Sequence[Row], *, width: int = PAGE_CHART_W) -> str:
    return bar_chart(
        "Wagers and wins, by hour", [r.key for r in rows],
        [Series("Wagers", [r.figures.wagers_units for r in rows], PALETTE["wagers"]),
         Series("Wins", [r.figures.wins_units for r in rows], PALETTE["wins"])],
        unit=CREDITS, width=width, label_every=2 if len(rows) > 12 else 1)


def by_day(rows: Sequence[Row], *, width: int = PAGE_CHART_W) -> str:
    every = max(1, len(rows) // 12)
    return bar_chart(
        "Credits sold and paid out, by day", [r.key[5:] for r in rows],
        [Series("Sold", [r.figures.sales_units for r in rows], PALETTE["sales"]),
         Series("Paid out", [r.figures.payouts_units for r in rows], PALETTE["payouts"])],
        unit=CREDITS, width=width, label_every=every)


def per_device(rows: Sequence[Row], *, names: dict[str, str] | None = None, width: int = WIDE_CHART_W) -> str:
    """Each device's activity: a POS by credits sold, a kiosk by credits wagered."""
    names = names or {}
    items = [(names.get(r.key, r.key), r.figures.sales_units or r.figures.wagers_units) for r in rows]
    return hbar_chart("Activity per device (credits sold or wagered)", items, unit=CREDITS, color=PALETTE["sales"],
                      width=width)


def per_location(rows: Sequence[Row], *, names: dict[str, str] | None = None, width: int = WIDE_CHART_W) -> str:
    names = names or {}
    return hbar_chart("Credits sold per location", [(names.get(r.key, r.key), r.figures.sales_units) for r in rows],
                      unit=CREDITS, color=PALETTE["sales"], width=width)


# --- SVG pieces -------------------------------------------------------------------------------------------


def _open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label={quoteattr(title)} font-family={quoteattr(FONT)}>'
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')


def _title(title: str, x: float) -> str:
    return _text(x, 22, title, size=14, fill=INK, weight="600")


def _legend(series: Sequence[Series], right: float) -> str:
    parts, x = [], right
    for s in reversed(series):
        label_w = 7 * len(s.name) + 8
        x -= label_w
        parts.append(_text(x, 22, s.name, size=12, fill=MUTED))
        x -= 16
        parts.append(f'<rect x="{x:.1f}" y="12" width="11" height="11" rx="2" fill="{s.color}"/>')
        x -= 14
    return "".join(parts)


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, fill: str = INK,
          weight: str = "400") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
            f'fill="{fill}">{escape(text)}</text>')


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
