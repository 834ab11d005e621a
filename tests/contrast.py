"""WCAG 2.2 contrast ratios, for the stylesheet's palette and for colours read in a browser.

The formulas are WCAG's own: relative luminance of sRGB colours and
(L1 + 0.05) / (L2 + 0.05), https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio
"""

from __future__ import annotations

import re

TEXT = 4.5  # 1.4.3 Contrast (Minimum), normal text
LARGE_TEXT = 3.0  # 1.4.3 for large text: 24 px, or 18.66 px bold
NON_TEXT = 3.0  # 1.4.11 Non-text Contrast: control boundaries, focus indicators

RGB = tuple[float, float, float]
RGBA = tuple[float, float, float, float]

_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_RGB_FUNCTION = re.compile(r"rgba?\(\s*([^)]*)\)")


def parse_color(text: str) -> RGBA:
    """``#abc``, ``#aabbcc``, ``rgb(r, g, b)`` or ``rgba(r, g, b, a)`` as 0-255 channels."""
    text = text.strip()
    hex_match = _HEX.fullmatch(text)
    if hex_match:
        digits = hex_match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return float(red), float(green), float(blue), 1.0
    function = _RGB_FUNCTION.fullmatch(text)
    if function:
        parts = [p for p in re.split(r"[\s,/]+", function.group(1)) if p]
        if len(parts) in (3, 4):
            alpha = float(parts[3]) if len(parts) == 4 else 1.0
            return float(parts[0]), float(parts[1]), float(parts[2]), alpha
    raise ValueError(f"not a colour this helper reads: {text!r}")


def over(top: RGBA, below: RGB) -> RGB:
    """``top`` painted over the opaque colour ``below`` (source-over compositing)."""
    alpha = top[3]
    red, green, blue = (top[i] * alpha + below[i] * (1 - alpha) for i in range(3))
    return red, green, blue


def relative_luminance(color: RGB) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in color)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: RGB, second: RGB) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_minimum(font_size_px: float, font_weight: int) -> float:
    """The ratio WCAG asks of text of this size and weight."""
    large = font_size_px >= 24 or (font_size_px >= 18.66 and font_weight >= 700)
    return LARGE_TEXT if large else TEXT
