"""The Control Panel's palette meets WCAG 2.2 AA, and the stylesheet says so truthfully.

Every colour of ``static/console.css`` is a custom property of ``:root``; this
test recomputes the contrast of each pair that text, a control's boundary or
the focus ring puts side by side, and holds the ratios written in the
stylesheet's comment to the computed ones. The browser test
(tests/e2e/test_layout_in_browser.py) checks the colours pages really render.
"""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from tests.contrast import (
    LARGE_TEXT,
    NON_TEXT,
    TEXT,
    contrast_ratio,
    over,
    parse_color,
    text_minimum,
)

# (foreground, background, minimum): what the stylesheet puts on what.
REQUIRED: list[tuple[str, str, float]] = [
    # Text: body, help and muted text, links, errors, notices, badges, buttons, navigation.
    ("--ink", "--bg", TEXT),
    ("--ink", "--surface", TEXT),
    ("--ink", "--surface-alt", TEXT),
    ("--ink", "--readonly", TEXT),
    ("--ink", "--note-bg", TEXT),
    ("--ink", "--status-new", TEXT),
    ("--ink", "--status-open", TEXT),
    ("--ink", "--status-pending", TEXT),
    ("--ink", "--ok-bg", TEXT),
    ("--muted", "--surface", TEXT),
    ("--muted", "--bg", TEXT),
    ("--muted", "--surface-alt", TEXT),
    ("--muted", "--readonly", TEXT),
    ("--muted", "--note-bg", TEXT),
    ("--brand", "--surface", TEXT),
    ("--brand", "--bg", TEXT),
    ("--brand", "--surface-alt", TEXT),
    ("--danger", "--surface", TEXT),
    ("--danger", "--bg", TEXT),
    ("--ok", "--ok-bg", TEXT),
    ("--on-brand", "--brand", TEXT),
    ("--on-brand", "--danger", TEXT),
    ("--nav-ink", "--nav-bg", TEXT),
    ("--nav-muted", "--nav-bg", TEXT),
    ("--nav-current-ink", "--nav-current-bg", TEXT),
    # Non-text: input borders where inputs sit, the focus rings, the current-page bar.
    ("--control-border", "--surface", NON_TEXT),
    ("--control-border", "--bg", NON_TEXT),
    ("--control-border", "--surface-alt", NON_TEXT),
    ("--control-border", "--readonly", NON_TEXT),
    ("--danger", "--readonly", NON_TEXT),
    ("--focus", "--surface", NON_TEXT),
    ("--focus", "--bg", NON_TEXT),
    ("--focus", "--surface-alt", NON_TEXT),
    ("--nav-focus", "--nav-bg", NON_TEXT),
    ("--nav-focus", "--nav-current-bg", NON_TEXT),
]
# Lines that only separate content; no control is identified by them.
DECORATIVE = {"--line", "--nav-line", "--ok-line", "--note-line"}

STATED = re.compile(r"^\s*(--[\w-]+) / (--[\w-]+)\s+(\d+\.\d\d):1 \((text|non-text) ([\d.]+)\)\s*$")


def stylesheet() -> str:
    return (files("cloudcx") / "static" / "console.css").read_text(encoding="utf-8")


def palette(css: str) -> dict[str, str]:
    root = re.search(r":root\s*\{(.*?)\}", css, re.S)
    assert root, "the stylesheet has no :root block"
    return dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+?)\s*;", root.group(1)))


def stated_ratios(css: str) -> dict[tuple[str, str], tuple[float, float]]:
    block = re.search(r"PALETTE-RATIOS\n(.*?)END-PALETTE-RATIOS", css, re.S)
    assert block, "the stylesheet's comment lists no PALETTE-RATIOS"
    stated: dict[tuple[str, str], tuple[float, float]] = {}
    for line in filter(str.strip, block.group(1).splitlines()):
        match = STATED.match(line)
        assert match, f"unreadable line in PALETTE-RATIOS: {line!r}"
        fg, bg, ratio, _, minimum = match.groups()
        stated[(fg, bg)] = (float(ratio), float(minimum))
    return stated


def ratio(colors: dict[str, str], fg: str, bg: str) -> float:
    background = parse_color(colors[bg])
    assert background[3] == 1, f"{bg} must be opaque to be a background"
    opaque_bg = background[:3]
    return contrast_ratio(over(parse_color(colors[fg]), opaque_bg), opaque_bg)


@pytest.mark.parametrize(
    ("fg", "bg", "minimum"), REQUIRED, ids=[f"{f}-on-{b}" for f, b, _ in REQUIRED]
)
def test_pair_meets_wcag_aa(fg: str, bg: str, minimum: float) -> None:
    colors = palette(stylesheet())
    value = ratio(colors, fg, bg)
    assert value >= minimum, f"{fg} {colors[fg]} on {bg} {colors[bg]}: {value:.2f}:1 < {minimum}:1"


def test_stylesheet_comment_states_the_computed_ratios() -> None:
    css = stylesheet()
    colors, stated = palette(css), stated_ratios(css)
    for fg, bg, minimum in REQUIRED:
        assert (fg, bg) in stated, f"the comment does not state {fg} / {bg}"
        written, written_minimum = stated[(fg, bg)]
        assert written == round(ratio(colors, fg, bg), 2), (fg, bg, written)
        assert written_minimum == minimum, (fg, bg, written_minimum)
    assert set(stated) == {(fg, bg) for fg, bg, _ in REQUIRED}, "pairs stated but not checked"


def test_every_palette_colour_is_checked_or_decorative() -> None:
    colors = palette(stylesheet())
    checked = {name for fg, bg, _ in REQUIRED for name in (fg, bg)}
    assert set(colors) - checked - DECORATIVE == set()
    assert set(colors) >= DECORATIVE


def test_rules_take_their_colours_from_the_palette() -> None:
    """A hex colour written into a rule would escape the checks above."""
    css = re.sub(r"/\*.*?\*/", "", stylesheet(), flags=re.S)
    rules = re.sub(r":root\s*\{.*?\}", "", css, count=1, flags=re.S)
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b", rules) == []


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("#000", "#fff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the well-known lightest grey that passes 4.5:1
        ("rgb(118, 118, 118)", "rgb(255, 255, 255)", 4.54),
    ],
    ids=["black-on-white", "same-colour", "grey-767676", "rgb-syntax"],
)
def test_contrast_ratio_matches_wcag_examples(first: str, second: str, expected: float) -> None:
    assert round(contrast_ratio(parse_color(first)[:3], parse_color(second)[:3]), 2) == expected


def test_translucent_colour_is_composited_over_its_background() -> None:
    half_black = parse_color("rgba(0, 0, 0, 0.5)")
    assert over(half_black, (255.0, 255.0, 255.0)) == (127.5, 127.5, 127.5)


@pytest.mark.parametrize(
    ("size", "weight", "minimum"),
    [(15, 400, TEXT), (18.66, 400, TEXT), (18.66, 700, LARGE_TEXT), (24, 400, LARGE_TEXT)],
    ids=["body", "large-but-regular", "large-bold", "24px"],
)
def test_large_text_threshold(size: float, weight: int, minimum: float) -> None:
    assert text_minimum(size, weight) == minimum


@pytest.mark.parametrize("text", ["red", "#12", "hsl(0, 0%, 0%)"], ids=["name", "short-hex", "hsl"])
def test_unreadable_colour_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a colour"):
        parse_color(text)
