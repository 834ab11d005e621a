"""HTML forms read the way a browser reads them: controls found by their labels.

The client-library tests need a person to sign in and press Allow, and an
administrator to fill in a client's settings, without a browser. This module
parses a page's forms with the standard library, finds controls by the text of
their ``<label>`` (``for=`` or wrapping) or ``aria-label``, and builds the
submission a browser would send for a given button.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

TEXT_TYPES = {"", "text", "email", "password", "url", "number", "search", "tel", "hidden"}
BUTTON_TYPES = {"submit", "button", "reset", "image"}


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Control:
    tag: str
    type: str
    name: str | None
    value: str
    id: str | None = None
    checked: bool = False
    disabled: bool = False
    readonly: bool = False
    label: str = ""
    text: str = ""
    options: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def is_button(self) -> bool:
        return self.tag == "button" or (self.tag == "input" and self.type in BUTTON_TYPES)

    @property
    def caption(self) -> str:
        """What a person reads on a button, or the label of any other control."""
        if self.is_button:
            return self.label or _norm(self.text) or self.value
        return self.label


@dataclass
class Form:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)

    def _find(self, label: str, kinds: set[str] | None = None) -> Control:
        wanted = label.casefold()
        found = [
            c
            for c in self.controls
            if not c.is_button
            and wanted in c.label.casefold()
            and (kinds is None or c.type in kinds or c.tag in kinds)
        ]
        exact = [c for c in found if c.label.casefold() == wanted]
        choices = exact or found
        assert len(choices) == 1, f"{len(choices)} controls labelled {label!r} in {self.labels()}"
        return choices[0]

    def labels(self) -> list[str]:
        return [c.caption for c in self.controls if c.caption]

    def value_of(self, label: str) -> str:
        return self._find(label).value

    def fill(self, label: str, value: str) -> None:
        control = self._find(label, {"textarea", *TEXT_TYPES} - {"hidden"})
        assert not control.readonly, f"{label!r} is read-only"
        control.value = value

    def is_checked(self, label: str) -> bool:
        return self._find(label, {"checkbox", "radio"}).checked

    def check(self, label: str, on: bool = True) -> None:
        self._find(label, {"checkbox", "radio"}).checked = on

    def button(self, caption: str) -> Control | None:
        for control in self.controls:
            if control.is_button and control.caption.casefold() == caption.casefold():
                return control
        return None

    def submission(self, button: str) -> list[tuple[str, str]]:
        """The name/value pairs a browser sends when ``button`` is pressed."""
        pressed = self.button(button)
        assert pressed is not None, f"no {button!r} button in {self.labels()}"
        pairs: list[tuple[str, str]] = []
        for control in self.controls:
            if control.disabled or not control.name:
                continue
            if control.is_button:
                if control is pressed:
                    pairs.append((control.name, control.value))
            elif control.type in {"checkbox", "radio"}:
                if control.checked:
                    pairs.append((control.name, control.value or "on"))
            elif control.tag == "select":
                selected = [v for v, on in control.options if on] or [
                    v for v, _ in control.options[:1]
                ]
                pairs.extend((control.name, v) for v in selected)
            else:
                pairs.append((control.name, control.value))
        return pairs

    def url(self, page_url: str) -> str:
        return urljoin(page_url, self.action) if self.action else page_url


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.controls: list[Control] = []
        self.form: Form | None = None
        self.labels_for: dict[str, str] = {}
        self.label_stack: list[tuple[str | None, list[str], list[Control]]] = []
        self.text_target: Control | None = None
        self.option: tuple[Control, str | None, bool] | None = None
        self.option_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self.form)
        elif tag == "label":
            self.label_stack.append((a.get("for"), [], []))
        elif tag in {"input", "textarea", "select", "button"}:
            self._control(tag, a)
        elif tag == "option" and self.text_target is not None:
            # An explicit value="" is sent as it is; only a missing value means the text.
            value = dict(attrs).get("value")
            self.option = (self.text_target, value, "selected" in a)
            self.option_text = []

    def _control(self, tag: str, a: dict[str, str]) -> None:
        default_type = {"input": "text", "button": "submit"}.get(tag, tag)
        control = Control(
            tag=tag,
            type=a.get("type", default_type).lower(),
            name=a.get("name") or None,
            value=a.get("value", ""),
            id=a.get("id") or None,
            checked="checked" in a,
            disabled="disabled" in a,
            readonly="readonly" in a,
            label=_norm(a.get("aria-label", "")),
        )
        self.controls.append(control)
        if self.form is not None:
            self.form.controls.append(control)
        for _, _, inside in self.label_stack:
            inside.append(control)
        if tag in {"textarea", "button", "select"}:
            self.text_target = control

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "label" and self.label_stack:
            target, text, inside = self.label_stack.pop()
            caption = _norm("".join(text))
            if target:
                self.labels_for[target] = caption
            for control in inside[:1]:
                control.label = control.label or caption
        elif tag == "option" and self.option is not None:
            control, value, selected = self.option
            text = _norm("".join(self.option_text))
            control.options.append((text if value is None else value, selected))
            self.option = None
        elif tag in {"textarea", "button", "select"}:
            self.text_target = None

    def handle_data(self, data: str) -> None:
        for _, text, _ in self.label_stack:
            text.append(data)
        if self.option is not None:
            self.option_text.append(data)
        elif self.text_target is not None:
            if self.text_target.tag == "textarea":
                self.text_target.value += data
            elif self.text_target.tag == "button":
                self.text_target.text += data


def _parse(html: str) -> _Parser:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    for control in parser.controls:
        if not control.label and control.id in parser.labels_for:
            control.label = parser.labels_for[control.id]
        if control.tag == "textarea" and control.value.startswith("\n"):
            control.value = control.value[1:]  # HTML drops a leading newline
    return parser


def forms(html: str) -> list[Form]:
    return _parse(html).forms


def controls(html: str) -> list[Control]:
    """Every control of the page, inside a form or not (a read-only field to copy)."""
    return _parse(html).controls


def find_form(html: str, button: str, containing: str | None = None) -> Form | None:
    """The form with a ``button`` captioned so (and a control labelled ``containing``)."""
    for form in forms(html):
        if form.button(button) is None:
            continue
        if containing and not any(
            containing.casefold() in c.label.casefold() for c in form.controls
        ):
            continue
        return form
    return None
