from __future__ import annotations

import io
import math
import struct
import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from matplotlib.image import imread

from bot.render import charts
from bot.render.charts import (
    DISPLAY_WIDTH_PX,
    HEIGHT_PX,
    MUTED,
    TEXT,
    WIDTH_PX,
    date_label,
    drawable,
    money_tick,
    pnl_chart,
    value_chart,
)
from bot.render.numbers import MINUS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = 1_750_000_000.0
DAY = 86_400.0

Chart = Callable[..., bytes]
CHARTS = [pytest.param(pnl_chart, id="pnl"), pytest.param(value_chart, id="value")]


def year_of(values: Callable[[int], float]) -> list[tuple[float, float]]:
    return [(NOW - DAY * (364 - i), values(i)) for i in range(365)]


def decode(png: bytes, width: int = WIDTH_PX, height: int = HEIGHT_PX) -> np.ndarray:
    """Checks the signature and IHDR size, then fully decodes the image."""
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (width, height)
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (height, width)
    return image


@pytest.mark.parametrize("chart", CHARTS)
def test_no_points_still_give_a_png(chart: Chart) -> None:
    image = decode(chart([], title="Nobody"))
    assert image[..., :3].std() > 0  # not a blank canvas: the "No history yet" text is drawn


@pytest.mark.parametrize("chart", CHARTS)
def test_one_point_gives_a_chart(chart: Chart) -> None:
    decode(chart([(NOW, 1234.5)], title="One"))
    decode(chart([(NOW, -42.0)], title="One"))


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize(
    "values",
    [
        pytest.param(lambda i: 50.0 * i, id="positive"),
        pytest.param(lambda i: -3_400_000.0 - 10_000.0 * i, id="negative"),
        pytest.param(lambda i: 5_000.0 * math.sin(i / 30), id="crossing-zero"),
        pytest.param(lambda i: 7.0, id="flat"),
    ],
)
def test_a_year_of_points(chart: Chart, values: Callable[[int], float]) -> None:
    decode(chart(year_of(values), title="Year"))


@pytest.mark.parametrize("chart", CHARTS)
def test_points_may_come_in_any_order(chart: Chart) -> None:
    points = year_of(lambda i: 100.0 * i)
    assert chart(points[::-1], title="t") == chart(points, title="t")


@pytest.mark.parametrize("chart", CHARTS)
def test_garbage_points_are_dropped_not_fatal(chart: Chart) -> None:
    points: Sequence[tuple[float, float]] = [
        (NOW, 1.0),
        (NOW + DAY, math.nan),
        (math.inf, 2.0),
        (NOW * 1000, 3.0),  # milliseconds by mistake: beyond year 9999
        (NOW + 2 * DAY, 4.0),
    ]
    assert chart(points, title="t") == chart([(NOW, 1.0), (NOW + 2 * DAY, 4.0)], title="t")


def test_green_above_zero_and_red_below() -> None:
    gain = decode(pnl_chart(year_of(lambda i: 1_000.0 + i), title="up"))[..., :3]
    loss = decode(pnl_chart(year_of(lambda i: -1_000.0 - i), title="down"))[..., :3]
    # The fill covers much of the plot: its hue dominates the mean colour.
    assert gain[..., 1].mean() > gain[..., 0].mean()
    assert loss[..., 0].mean() > loss[..., 1].mean()


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize(
    "title",
    [
        "$whale_1$ @everyone",
        "a$b_{$c",  # invalid mathtext: raises if the title were parsed as math
        r"\frac{1}{2} $$ ^_^ <@123> @here",
        "line\nbreak\tand a very long name " * 10,
        "",
    ],
)
def test_titles_are_plain_text(chart: Chart, title: str) -> None:
    decode(chart([(NOW, 1.0), (NOW + DAY, 2.0)], title=title))


@pytest.mark.filterwarnings("error:Glyph .* missing from font")
def test_emoji_and_cjk_names_are_drawn_not_boxed() -> None:
    """Every glyph of these names is in a bundled font: a missing one would warn (an error
    here) and be drawn as a box."""
    for name in ("🐋 whale 鲸鱼 Ω", "トレーダー太郎 🚀", "김철수 ✓ ★", "Ελένη — Ж"):
        decode(pnl_chart([(NOW, 1.0), (NOW + DAY, 2.0)], title=name, subtitle=name))


def test_characters_no_font_has_are_dropped_rather_than_boxed() -> None:
    assert drawable("a\U000f0000b\ue000c") == "abc"  # private-use characters: no font has them
    assert drawable("鲸鱼 🐋") == "鲸鱼 🐋"


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize(("width", "height"), [(800, 360), (333, 201), (1201, 677), (200, 200)])
def test_output_has_the_requested_size(chart: Chart, width: int, height: int) -> None:
    png = chart(year_of(lambda i: float(i)), title="t", width_px=width, height_px=height)
    decode(png, width, height)


@pytest.mark.parametrize(("width", "height"), [(0, 360), (800, -1), (10_000, 360)])
def test_absurd_sizes_are_rejected(width: int, height: int) -> None:
    with pytest.raises(ValueError):
        pnl_chart([], title="t", width_px=width, height_px=height)


def test_threads_render_at_the_same_time() -> None:
    jobs: list[tuple[Chart, list[tuple[float, float]]]] = [
        (pnl_chart, year_of(lambda i: 5_000.0 * math.sin(i / 30))),
        (value_chart, year_of(lambda i: 10_000.0 + i)),
    ] * 3
    expected = [chart(points, title="$t_1$") for chart, points in jobs]
    results: list[bytes | None] = [None] * len(jobs)
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(index: int) -> None:
        chart, points = jobs[index]
        try:
            start.wait()
            results[index] = chart(points, title="$t_1$")
        except BaseException as error:  # surfaced below: pytest does not see thread errors
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert results == expected  # concurrent renders match the same renders done one at a time
    for png in results:
        assert png is not None
        decode(png)


@pytest.mark.parametrize(
    ("value", "step", "label"),
    [
        (0, 500, "$0"),
        (1_200, 100, "$1.2K"),
        (2_500, 2_500, "$2.5K"),
        (7_500, 2_500, "$7.5K"),
        (5_000, 2_500, "$5K"),
        (-3_400_000, 200_000, f"{MINUS}$3.4M"),
        (2_000_000_000, 500_000_000, "$2B"),
        (750, 250, "$750"),
        (1.5, 0.5, "$1.5"),
        (-0.25, 0.05, f"{MINUS}$0.25"),
        (1_008, 4, "$1,008"),  # close ticks on a large value: no "$1.008K"
        (2_004_000, 1_000, "$2,004K"),
        (0.0000001, 0.5, "$0"),
        (-0.0000001, 0.5, "$0"),
        (10_000, 0, "$10K"),
    ],
)
def test_money_ticks(value: float, step: float, label: str) -> None:
    assert money_tick(value, step) == label


def parse_money(label: str) -> float:
    scale = {"K": 1e3, "M": 1e6, "B": 1e9}.get(label[-1], 1.0)
    number = label.replace(MINUS, "-").replace("$", "").replace(",", "").rstrip("KMB")
    return float(number) * scale


@pytest.mark.parametrize("step", [0.01, 0.2, 0.25, 1, 25, 200, 250, 2_500, 50_000, 2_000_000])
def test_tick_labels_are_exact_and_distinct(step: float) -> None:
    ticks = [step * k for k in range(-7, 8)]
    labels = [money_tick(t, step) for t in ticks]
    assert len(set(labels)) == len(labels), labels
    assert all(label.count("$") == 1 for label in labels)  # one "$" is never mathtext
    for tick, label in zip(ticks, labels, strict=True):
        assert parse_money(label) == pytest.approx(tick, abs=1e-9), label


def test_charts_are_rendered_for_high_density_screens() -> None:
    png = pnl_chart(year_of(float), title="t")
    assert struct.unpack(">II", png[16:24])[0] >= 1200
    assert WIDTH_PX >= 3 * DISPLAY_WIDTH_PX  # 3 device pixels per on-screen pixel


def rows_of_colour(image: np.ndarray, colour: str, top: int, bottom: int) -> int:
    """How many pixel rows between ``top`` and ``bottom`` hold ``colour`` (text strokes)."""
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    band = image[top:bottom, :, :3]
    hits = (np.abs(band - rgb) < 0.03).all(axis=2).any(axis=1)
    return int(hits.sum())


def test_headings_read_at_12_to_14_points_once_discord_scales_the_image_down() -> None:
    """Capital H is ~0.73 em tall in DejaVu Sans: measured in the image, scaled to the ~400 px
    Discord shows, converted to points at 96 px per inch."""
    image = decode(pnl_chart(year_of(float), title="HHHHHH", subtitle="HHHHHH"))
    scale = WIDTH_PX / DISPLAY_WIDTH_PX  # image pixels per on-screen pixel

    def on_screen_points(rows: int) -> float:
        return rows / scale / 0.73 * 72 / 96

    title = on_screen_points(rows_of_colour(image, TEXT, 0, int(28 * scale)))
    subtitle = on_screen_points(rows_of_colour(image, MUTED, int(28 * scale), int(50 * scale)))
    assert 13 <= title <= 15, title  # 14 pt
    assert 11 <= subtitle <= 13, subtitle  # 12 pt


def test_dates_are_plain_labels_with_no_offset_in_the_corner() -> None:
    assert date_label(charts.date2num(np.datetime64("2026-03-03T12:00")), 30) == "Mar 3"
    assert date_label(charts.date2num(np.datetime64("2026-03-03T14:00")), 1) == "14:00"
    assert date_label(charts.date2num(np.datetime64("2026-03-03T14:00")), 500) == "Mar 2026"
    for points in (year_of(float), [(NOW, 1.0)], [(NOW, 1.0), (NOW + 3600, 2.0)]):
        fig = charts.Figure()
        charts.FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        times = np.array([t for t, _ in points])
        charts._date_axis(ax, charts.date2num(times.astype("datetime64[s]")))
        fig.canvas.draw()
        low, high = ax.get_xlim()
        ticks = ax.xaxis.get_majorticklocs()
        assert 1 <= len(ticks) <= 4
        assert all(low <= t <= high for t in ticks)
        assert not ax.xaxis.get_offset_text().get_visible()
        assert all(label.get_text() for label in ax.get_xticklabels())
