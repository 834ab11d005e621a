"""What the browser says about a page's layout: width, controls, focus, colours.

The measuring runs in the page (``getBoundingClientRect``, ``getComputedStyle``);
the judging runs here, with WCAG's formulas from tests/contrast.py, so a
failure names the element and the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

from tests.contrast import NON_TEXT, contrast_ratio, over, parse_color, text_minimum

# Background colours from an element up to <html>; the canvas below them is white.
_LAYERS_JS = """
const layersOf = (start) => {
  const layers = [];
  for (let n = start; n; n = n.parentElement) layers.push(getComputedStyle(n).backgroundColor);
  return layers;
};
"""

# Gives every visible, enabled control not yet seen a data-probe number; returns the new ones.
MARK_CONTROLS_JS = """() => {
  const selector =
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  window.__probes = window.__probes || 0;
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.dataset.probe !== undefined || el.disabled || el.tabIndex < 0) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    el.dataset.probe = String(window.__probes++);
    found.push({
      probe: el.dataset.probe, what: el.outerHTML.slice(0, 160),
      left: rect.left + scrollX, right: rect.right + scrollX,
      radioGroup: el.type === 'radio' ? el.name : null,
    });
  }
  return found;
}"""

FOCUS_STATE_JS = (
    "() => {"
    + _LAYERS_JS
    + """
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  // Chromium may bring a focused element only partly into view; measure it whole.
  el.scrollIntoView({block: 'nearest', inline: 'nearest'});
  const first = el.getClientRects()[0] || el.getBoundingClientRect();
  const rect = el.getBoundingClientRect();
  const hit = document.elementFromPoint(first.left + first.width / 2, first.top + first.height / 2);
  const style = getComputedStyle(el);
  return {
    probe: el.dataset.probe ?? null, what: el.outerHTML.slice(0, 160),
    left: rect.left, right: rect.right, top: rect.top, bottom: rect.bottom,
    hit: !!hit && (hit === el || el.contains(hit) || hit.control === el),
    closedDisclosure: el.tagName === 'SUMMARY' && !el.parentElement.open,
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
    outlineColor: style.outlineColor, around: layersOf(el.parentElement),
  };
}"""
)

TEXT_SAMPLES_JS = (
    "() => {"
    + _LAYERS_JS
    + """
  const shown = (el) => {
    const rect = el.getBoundingClientRect();
    return rect.width > 1 && rect.height > 1 && el.checkVisibility({visibilityProperty: true});
  };
  const sample = (el, style, text) => ({
    what: el.outerHTML.slice(0, 160), text: text.slice(0, 60), color: style.color,
    size: parseFloat(style.fontSize), weight: parseInt(style.fontWeight, 10), layers: layersOf(el),
  });
  const out = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el)) continue;
    if (['OPTION', 'SCRIPT'].includes(el.tagName)) continue;
    seen.add(el);
    if (shown(el)) out.push(sample(el, getComputedStyle(el), node.textContent.trim()));
  }
  for (const el of document.querySelectorAll('td[data-label]')) {
    const before = getComputedStyle(el, '::before');
    if (shown(el) && before.content !== 'none' && before.content !== 'normal')
      out.push(sample(el, before, 'label ' + before.content));
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    if (!shown(el) || el.value) continue;
    out.push(sample(el, getComputedStyle(el, '::placeholder'), 'placeholder ' + el.placeholder));
  }
  return out;
}"""
)

BORDERS_JS = (
    "() => {"
    + _LAYERS_JS
    + """
  const fields =
    'input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea';
  return [...document.querySelectorAll(fields)].filter((el) => el.checkVisibility()).map((el) => {
    const style = getComputedStyle(el);
    return {what: el.outerHTML.slice(0, 160), color: style.borderTopColor,
            width: parseFloat(style.borderTopWidth), around: layersOf(el.parentElement),
            inside: layersOf(el)};
  });
}"""
)


def backdrop(layers: list[str]) -> tuple[float, float, float]:
    """The opaque colour seen through ``layers`` (innermost first) over a white canvas."""
    color = (255.0, 255.0, 255.0)
    for layer in reversed(layers):
        color = over(parse_color(layer), color)
    return color


def ratio_over(foreground: str, layers: list[str]) -> float:
    behind = backdrop(layers)
    return contrast_ratio(over(parse_color(foreground), behind), behind)


def horizontal_scroll(page: Page) -> tuple[int, int]:
    """(scrollWidth, innerWidth) of the document."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(inner)


@dataclass
class Walk:
    controls: dict[str, dict[str, Any]]
    focused: dict[str, dict[str, Any]]
    strays: list[str]  # focus went to an element that is not a visible control

    def unreached(self) -> list[str]:
        groups = {
            c["radioGroup"]
            for p, c in self.controls.items()
            if p in self.focused and c["radioGroup"]
        }
        return [
            c["what"]
            for p, c in self.controls.items()
            if p not in self.focused and not (c["radioGroup"] and c["radioGroup"] in groups)
        ]


def tab_through(page: Page) -> Walk:
    """Press Tab from the top of the page until every control had the focus (or Tab
    came round again), opening each closed disclosure (the Menu button, Action
    menus) on the way with Enter, as a keyboard user does.

    Radio buttons of one group share one Tab stop, so one of them counts for all.
    """
    controls = {c["probe"]: c for c in page.evaluate(MARK_CONTROLS_JS)}
    focused: dict[str, dict[str, Any]] = {}
    strays: list[str] = []
    presses = 0
    while presses < 3 * len(controls) + 20:
        page.keyboard.press("Tab")
        presses += 1
        state = page.evaluate(FOCUS_STATE_JS)
        if state is None:
            continue
        if state["probe"] is None:
            strays.append(state["what"])
            continue
        if state["probe"] in focused:
            if len(focused) >= len(controls):
                break
            continue
        focused[state["probe"]] = state
        if state["closedDisclosure"]:
            page.keyboard.press("Enter")
            controls.update({c["probe"]: c for c in page.evaluate(MARK_CONTROLS_JS)})
    return Walk(controls, focused, strays)


def outside_viewport(walk: Walk, inner_width: int) -> list[str]:
    """Controls not wholly inside the viewport's width, as laid out and when focused."""
    tolerance = 0.5
    bad = [
        f"{c['what']} spans {c['left']:.0f}..{c['right']:.0f}"
        for c in walk.controls.values()
        if c["left"] < -tolerance or c["right"] > inner_width + tolerance
    ]
    bad += [
        f"{s['what']} when focused spans {s['left']:.0f}..{s['right']:.0f}"
        for s in walk.focused.values()
        if s["left"] < -tolerance or s["right"] > inner_width + tolerance
    ]
    return bad


def covered(walk: Walk) -> list[str]:
    """Focused controls whose middle shows something else: clipped or hidden under another."""
    return [s["what"] for s in walk.focused.values() if not s["hit"]]


def weak_focus_rings(walk: Walk) -> list[str]:
    bad = []
    for state in walk.focused.values():
        if state["outlineStyle"] == "none" or state["outlineWidth"] < 2:
            bad.append(f"{state['what']}: no focus ring ({state['outlineStyle']})")
            continue
        value = ratio_over(state["outlineColor"], state["around"])
        if value < NON_TEXT:
            bad.append(f"{state['what']}: focus ring {state['outlineColor']} at {value:.2f}:1")
    return bad


def low_contrast_text(page: Page) -> list[str]:
    bad = []
    for sample in page.evaluate(TEXT_SAMPLES_JS):
        value = ratio_over(sample["color"], sample["layers"])
        minimum = text_minimum(sample["size"], sample["weight"])
        if value < minimum:
            bad.append(
                f"{sample['text']!r} {sample['color']} at {value:.2f}:1 (needs {minimum}): "
                + sample["what"]
            )
    return bad


def weak_field_borders(page: Page) -> list[str]:
    """Text fields and selects whose border is thinner than 1 px or below 3:1 around it."""
    bad = []
    for field in page.evaluate(BORDERS_JS):
        value = ratio_over(field["color"], field["around"])
        if field["width"] < 1 or value < NON_TEXT:
            bad.append(f"{field['what']}: border {field['color']} at {value:.2f}:1")
    return bad
