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

Sized for how Discord shows them: an embed's image is scaled down to at most ~400 px wide on a
desktop client, and phones and high-density screens have 2-3 device pixels per CSS pixel. So a
chart is rendered 3x that (1,200 px wide) at a DPI chosen so that a font's point size is the
size it reads at on screen (12-14 pt, like Discord's own text). Names may be in any script or
hold emoji: the Noto CJK, Symbols and Emoji fonts (installed from PyPI with the bot) back up
DejaVu glyph by glyph, and a character no font has is dropped rather than drawn as a box.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Callable, Sequence
from datetime import UTC
from functools import cache
from importlib import resources

import numpy as np
from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, MaxNLocator

from bot.render.numbers import MINUS

log = logging.getLogger(__name__)

# Discord's dark theme: the message background, its primary/muted text and a divider grey.
BACKGROUND = "#2b2d31"
TEXT = "#dbdee1"
MUTED = "#949ba4"
GRID = "#3f4147"
LINE = "#c9cdfb"
GAIN = "#23a55a"
LOSS = "#f23f43"
VALUE = "#5865f2"

MIN_PX, MAX_PX = 200, 4000
WIDTH_PX, HEIGHT_PX = 1200, 750  # shown as 400 x 250 in an embed
DISPLAY_WIDTH_PX = 400  # the most a desktop Discord client shows of an embed's image
SCREEN_DPI = 96  # CSS pixels per inch: how a point size reads on screen
TITLE_PT, TEXT_PT = 14, 12  # on screen, after Discord scales the image down
TITLE_LIMIT = 32  # characters of a name that fit a title line at TITLE_PT
SUBTITLE_LIMIT = 44
EMPTY_MESSAGE = "No history yet"
# Glyph by glyph, the first family that has it draws it (matplotlib's font fallback).
FONT_FAMILIES = ["DejaVu Sans", "Noto Sans CJK JP", "Noto Sans Symbols", "Noto Emoji"]
FONT_FILES = (
    ("noto_cjk_sans_otc", "NotoSansCJK-Regular.ttc"),
    ("manimgx_fonts", "NotoSansSymbols[wght].ttf"),
    ("manimgx_fonts", "NotoEmoji[wght].ttf"),
)
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
    subtitle: str = "",
    width_px: int = WIDTH_PX,
    height_px: int = HEIGHT_PX,
) -> bytes:
    """Cumulative PnL over time: green where the trader is up, red where down, a zero line.

    ``title`` is who (a name), ``subtitle`` the headline figure and period, in smaller type
    below it. ``points`` are ``(unix seconds, cumulative PnL in USD)`` in any order; non-finite or
    out-of-range points are dropped rather than failing the whole command.
    """
    return _render(points, (title, subtitle), (width_px, height_px), _draw_pnl)


def value_chart(
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    subtitle: str = "",
    width_px: int = WIDTH_PX,
    height_px: int = HEIGHT_PX,
) -> bytes:
    """Portfolio value over time, filled under the line.

    The fill goes down to the bottom of the plot, not to $0, so the axis can zoom in on the
    range the value actually moved in (a $10K portfolio moving by $300 would otherwise be flat).
    """
    return _render(points, (title, subtitle), (width_px, height_px), _draw_value)


def dpi_for(width_px: int) -> float:
    """The DPI at which a font's point size is the size it reads at once Discord has scaled a
    ``width_px`` image down to DISPLAY_WIDTH_PX."""
    return SCREEN_DPI * width_px / DISPLAY_WIDTH_PX


def money_tick(value: float, step: float) -> str:
    """An axis label in the style of ``numbers.money`` ($1.2K, −$3.4M), as precise as the ticks.

    Not ``numbers.money`` itself: it rounds to whole dollars below $1K and to two decimals of a
    unit above, so ticks $0.25 apart would read $0, $0, $1 and a $1,004 tick $1K. Here the
    decimals follow the tick spacing ``step`` so neighbouring labels always differ, and
    trailing zeros are dropped; ticks close together on a large value ($1,004, $1,008) are
    written out rather than given a unit with three decimals. A ``step`` of 0 (one tick) takes
    the largest unit.
    """
    amount = abs(value)
    divisor, suffix = 1.0, ""
    for threshold, name in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        # A unit only when the ticks differ in its first decimal: "$1.2K", never "$1.012K".
        if amount >= threshold and (step == 0 or abs(step) >= threshold / 10):
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
        return "$0"  # never "−$0" for a tick that only rounds to zero
    sign = MINUS if value < 0 else ""
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


@cache
def _fonts() -> frozenset[int]:
    """Register the bundled fonts once; returns every code point some family can draw."""
    for package, name in FONT_FILES:
        try:
            font_manager.fontManager.addfont(str(resources.files(package).joinpath(name)))
        except (ModuleNotFoundError, OSError, RuntimeError) as exc:  # a broken install: DejaVu only
            log.warning("chart font %s/%s unavailable: %s", package, name, exc)
    covered: set[int] = set()
    for family in FONT_FAMILIES:
        try:
            path = font_manager.findfont(family, fallback_to_default=False)
        except ValueError:
            continue
        covered |= set(font_manager.get_font(path).get_charmap())
    return frozenset(covered)


def drawable(text: str) -> str:
    """``text`` without the characters no chart font has (they would be drawn as boxes)."""
    covered = _fonts()
    return "".join(ch for ch in text if ord(ch) in covered or ch == " ")


def _render(
    points: Sequence[tuple[float, float]],
    titles: tuple[str, str],
    size: tuple[int, int],
    draw: _DrawFn,
) -> bytes:
    width_px, height_px = size
    for name, size_px in (("width_px", width_px), ("height_px", height_px)):
        if not MIN_PX <= size_px <= MAX_PX:
            raise ValueError(f"{name} must be between {MIN_PX} and {MAX_PX}, got {size_px}")
    times, values = _clean(points)
    with _RENDER_LOCK, rc_context({"font.family": FONT_FAMILIES, "font.size": TEXT_PT}):
        dpi = dpi_for(width_px)
        # The tiny offset keeps int(width_px / dpi * dpi) from truncating to width_px - 1.
        fig = Figure(
            figsize=((width_px + 0.01) / dpi, (height_px + 0.01) / dpi),
            dpi=dpi,
            facecolor=BACKGROUND,
        )
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        _style(ax)
        title, subtitle = _plain(titles[0], TITLE_LIMIT), _plain(titles[1], SUBTITLE_LIMIT)
        _headings(fig, title, subtitle, width_px, height_px)
        if len(times) == 0:
            _draw_empty(ax)
        else:
            dates = date2num(times.astype("datetime64[s]"))
            draw(ax, dates, values)
            _date_axis(ax, dates)
        _margins(fig, width_px, height_px, two_lines=bool(subtitle))
        buffer = io.BytesIO()
        # Fast zlib level: a few KB more per PNG for several ms less per render.
        canvas.print_png(buffer, metadata=_PNG_METADATA, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _margins(fig: Figure, width_px: int, height_px: int, *, two_lines: bool) -> None:
    """Fixed margins, in on-screen pixels, instead of tight/constrained layout: layout engines
    measure every label first and roughly double the render time. They fit a "−$123.5K" tick
    and the headings at the sizes above."""
    scale = width_px / DISPLAY_WIDTH_PX  # image pixels per on-screen pixel
    top = 56 if two_lines else 36
    fig.subplots_adjust(
        left=min(0.4, 80 * scale / width_px),
        right=1 - 16 * scale / width_px,
        bottom=min(0.4, 26 * scale / height_px),
        top=1 - min(0.5, top * scale / height_px),
    )


def _headings(fig: Figure, title: str, subtitle: str, width_px: int, height_px: int) -> None:
    """The name, and below it the headline figure and period, from the image's left edge."""
    scale = width_px / DISPLAY_WIDTH_PX
    lines = ((title, TITLE_PT, TEXT, 8), (subtitle, TEXT_PT, MUTED, 30))  # top in screen px
    for text, size, colour, top in lines:
        if text:
            fig.text(
                10 * scale / width_px,
                1 - top * scale / height_px,
                text,
                color=colour,
                fontsize=size,
                va="top",
                parse_math=False,
            )


def _clean(points: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted by time, with NaN/inf and impossible timestamps dropped (upstream data)."""
    data = np.array(points, dtype=float).reshape(-1, 2) if len(points) else np.empty((0, 2))
    keep = np.isfinite(data).all(axis=1) & (data[:, 0] >= 0) & (data[:, 0] <= _MAX_TIMESTAMP)
    data = data[keep]
    data = data[np.argsort(data[:, 0], kind="stable")]
    return data[:, 0], data[:, 1]


def _plain(text: str, limit: int) -> str:
    """One line, bounded, drawable: names may hold newlines, glyphs no font has, or be long
    enough to run off the image."""
    line = " ".join(drawable(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _style(ax: Axes) -> None:
    ax.set_facecolor(BACKGROUND)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, labelcolor=MUTED, labelsize=TEXT_PT, length=3, pad=3)
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
        fontsize=TITLE_PT,
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
    ax.plot(dates, values, color=colour, linewidth=1.6, marker=marker, markersize=5, zorder=3)


def _money_axis(ax: Axes) -> None:
    # Few ticks: laying out and drawing tick labels is most of a render's time.
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_formatter(_MoneyFormatter())


def date_label(value: float, span_days: float) -> str:
    """An x tick: 'Mar 3' (a day), '14:00' (within two days), 'Mar 2026' (over a year)."""
    moment = num2date(value, tz=UTC)
    if span_days > 400:
        return f"{moment:%b %Y}"
    if span_days >= 2:
        return f"{moment:%b} {moment.day}"
    return f"{moment:%H:%M}"


def _date_axis(ax: Axes, dates: np.ndarray) -> None:
    """A few plain date labels inside the data's range, and no offset label in the corner
    (the "stray" date matplotlib's concise formatter puts there)."""
    span = float(dates[-1] - dates[0])
    if span == 0:
        # The date locator would otherwise widen a single instant to four years.
        ax.set_xlim(dates[0] - 1, dates[-1] + 1)
        ax.xaxis.set_major_locator(FixedLocator([float(dates[0])]))
    else:
        ax.set_xlim(dates[0], dates[-1])
        ax.xaxis.set_major_locator(AutoDateLocator(tz=UTC, minticks=2, maxticks=4))
    label_span = span if span > 0 else 2.0  # a lone point is labelled with its day
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: date_label(x, label_span)))
    ax.xaxis.get_offset_text().set_visible(False)
