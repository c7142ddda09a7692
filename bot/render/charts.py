"""PnL and portfolio-value history -> PNG bytes, styled for Discord's dark theme.

Pure and self-contained: the same points, title and size always give the same picture. The bot
calls these from a worker thread (``asyncio.to_thread``), so they use matplotlib's object API
(``Figure`` + the Agg canvas) and never pyplot: pyplot keeps a global "current figure" that
threads would trample. Matplotlib's docs still call it "not thread-safe" (font, text-metric and
unit caches are process-wide), so building and drawing a chart happens under one module lock.
That costs almost nothing: ``Figure.draw`` already takes a process-wide lock of its own, and the
GIL means two renders could never really run side by side anyway.

Titles are upstream text (trader names). They are drawn with ``parse_math=False`` so a name like
``$foo_bar$`` is shown as typed instead of being parsed (or failing to parse) as mathtext.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Sequence
from datetime import UTC

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

# Discord's dark theme: the message background, its primary/muted text and a divider grey.
BACKGROUND = "#2b2d31"
TEXT = "#dbdee1"
MUTED = "#949ba4"
GRID = "#3f4147"
LINE = "#c9cdfb"
GAIN = "#23a55a"
LOSS = "#f23f43"
VALUE = "#5865f2"

DPI = 100
MIN_PX, MAX_PX = 200, 4000
TITLE_LIMIT = 80
EMPTY_MESSAGE = "No history yet"
# datetime64/date2num only cover years 1970..9999; anything outside is a unit bug upstream
# (milliseconds passed as seconds) and would make the date locator raise mid-draw.
_MAX_TIMESTAMP = 253_402_300_799.0
_PNG_METADATA: dict[str, str | None] = {"Software": None}  # no matplotlib version stamp

_RENDER_LOCK = threading.Lock()

_DrawFn = Callable[[Axes, np.ndarray, np.ndarray], None]


def pnl_chart(
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    width_px: int = 800,
    height_px: int = 360,
) -> bytes:
    """Cumulative PnL over time: green where the trader is up, red where down, a zero line.

    ``points`` are ``(unix seconds, cumulative PnL in USD)`` in any order; non-finite or
    out-of-range points are dropped rather than failing the whole command.
    """
    return _render(points, title, width_px, height_px, _draw_pnl)


def value_chart(
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    width_px: int = 800,
    height_px: int = 360,
) -> bytes:
    """Portfolio value over time, filled under the line.

    The fill goes down to the bottom of the plot, not to $0, so the axis can zoom in on the
    range the value actually moved in (a $10K portfolio moving by $300 would otherwise be flat).
    """
    return _render(points, title, width_px, height_px, _draw_value)


def money_tick(value: float, step: float) -> str:
    """An axis label in the style of ``text.money`` ($1.2K, -$3.4M), as precise as the ticks.

    ``money`` always shows two decimals, which is noisy on an axis ($2.50K, $5.00K) and too
    coarse for small ranges ($0 / $0 / $1). Here the decimals follow the tick spacing ``step``
    so neighbouring labels always differ, and trailing zeros are dropped.
    """
    amount = abs(value)
    divisor, suffix = 1.0, ""
    for threshold, name in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= threshold:
            divisor, suffix = threshold, name
            break
    scaled_step = abs(step) / divisor
    # Ticks are multiples of the step, so the step's own decimals are enough ($2.5K, not $2K).
    decimals = next(
        (d for d in range(4) if math.isclose(scaled_step, round(scaled_step, d), rel_tol=1e-6)),
        4,
    )
    digits = f"{amount / divisor:,.{decimals}f}"
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    if float(digits.replace(",", "")) == 0:
        return "$0"  # never "-$0" for a tick that only rounds to zero
    sign = "-" if value < 0 else ""
    return f"{sign}${digits}{suffix}"


class _MoneyFormatter(Formatter):
    """Feeds the current tick spacing into :func:`money_tick`."""

    _step = 0.0

    def set_locs(self, locs: list[float]) -> None:
        """Called by the axis with every tick before any label is formatted."""
        super().set_locs(locs)
        ticks = np.sort(np.asarray(locs, dtype=float))
        self._step = float(np.diff(ticks).min()) if len(ticks) > 1 else 0.0

    def __call__(self, x: float, pos: int | None = None) -> str:
        return money_tick(x, self._step)


def _render(
    points: Sequence[tuple[float, float]],
    title: str,
    width_px: int,
    height_px: int,
    draw: _DrawFn,
) -> bytes:
    for name, size in (("width_px", width_px), ("height_px", height_px)):
        if not MIN_PX <= size <= MAX_PX:
            raise ValueError(f"{name} must be between {MIN_PX} and {MAX_PX}, got {size}")
    times, values = _clean(points)
    with _RENDER_LOCK:
        # The tiny offset keeps int(width_px / DPI * DPI) from truncating to width_px - 1.
        fig = Figure(
            figsize=((width_px + 0.01) / DPI, (height_px + 0.01) / DPI),
            dpi=DPI,
            facecolor=BACKGROUND,
        )
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        _style(ax, _plain_title(title))
        if len(times) == 0:
            _draw_empty(ax)
        else:
            dates = date2num(times.astype("datetime64[s]"))
            draw(ax, dates, values)
            _date_axis(ax, dates)
        # Fixed margins instead of tight/constrained layout: layout engines measure every label
        # first and roughly double the render time; these fit "-$123.45M" ticks at 800x360.
        fig.subplots_adjust(
            left=min(0.3, 78 / width_px),
            right=1 - 18 / width_px,
            bottom=min(0.3, 46 / height_px),
            top=1 - min(0.3, 38 / height_px),
        )
        buffer = io.BytesIO()
        # Fast zlib level: a few KB more per PNG for ~7 ms less per render.
        canvas.print_png(buffer, metadata=_PNG_METADATA, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _clean(points: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted by time, with NaN/inf and impossible timestamps dropped (upstream data)."""
    data = np.array(points, dtype=float).reshape(-1, 2) if len(points) else np.empty((0, 2))
    keep = np.isfinite(data).all(axis=1) & (data[:, 0] >= 0) & (data[:, 0] <= _MAX_TIMESTAMP)
    data = data[keep]
    data = data[np.argsort(data[:, 0], kind="stable")]
    return data[:, 0], data[:, 1]


def _plain_title(title: str) -> str:
    """One line, bounded: names may hold newlines or be long enough to run off the image."""
    text = " ".join(title.split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def _style(ax: Axes, title: str) -> None:
    ax.set_facecolor(BACKGROUND)
    # An explicit y skips matplotlib's title auto-placement, which measures every x tick label
    # (~25% of the render time) only to confirm the title already clears them.
    ax.set_title(title, loc="left", y=1.0, color=TEXT, fontsize=13, pad=10, parse_math=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, labelcolor=MUTED, labelsize=9)
    ax.grid(True, color=GRID, linewidth=0.6, alpha=0.8)
    ax.set_axisbelow(True)


def _draw_empty(ax: Axes) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        EMPTY_MESSAGE,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED,
        fontsize=14,
        parse_math=False,
    )


def _draw_pnl(ax: Axes, dates: np.ndarray, values: np.ndarray) -> None:
    ax.axhline(0, color=MUTED, linewidth=1, zorder=2)
    # interpolate=True cuts the fill exactly where the line crosses zero, not at a sample.
    ax.fill_between(
        dates, values, 0, where=values >= 0, interpolate=True, color=GAIN, alpha=0.35, lw=0
    )
    ax.fill_between(
        dates, values, 0, where=values <= 0, interpolate=True, color=LOSS, alpha=0.35, lw=0
    )
    colour = GAIN if values[-1] >= 0 else LOSS
    _line(ax, dates, values, LINE if len(values) > 1 else colour)
    _money_axis(ax)


def _draw_value(ax: Axes, dates: np.ndarray, values: np.ndarray) -> None:
    _line(ax, dates, values, VALUE)
    _money_axis(ax)
    ax.autoscale_view()
    bottom, top = ax.get_ylim()
    ax.fill_between(dates, values, bottom, color=VALUE, alpha=0.3, lw=0)
    ax.set_ylim(bottom, top)  # the fill must not widen the limits it was drawn down to


def _line(ax: Axes, dates: np.ndarray, values: np.ndarray, colour: str) -> None:
    # A lone point has no line to draw, so it gets a dot instead.
    marker = "o" if len(values) == 1 else None
    ax.plot(dates, values, color=colour, linewidth=1.8, marker=marker, markersize=6, zorder=3)


def _money_axis(ax: Axes) -> None:
    # Few ticks: laying out and drawing tick labels is most of a render's time.
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_formatter(_MoneyFormatter())


def _date_axis(ax: Axes, dates: np.ndarray) -> None:
    locator = AutoDateLocator(tz=UTC, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))
    ax.xaxis.get_offset_text().set_color(MUTED)
    ax.xaxis.get_offset_text().set_fontsize(9)
    if dates[0] == dates[-1]:
        # The date locator would otherwise widen a single instant to four years.
        ax.set_xlim(dates[0] - 1, dates[-1] + 1)
    else:
        ax.set_xlim(dates[0], dates[-1])
