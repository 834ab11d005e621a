"""The table of every ``CLOUDCX_`` setting, written from the Settings class into a document.

``python -m cloudcx.settings_doc`` rewrites the table between the markers of
``docs/deploy.md``; ``--check`` only says whether it is current (exit 1 if
not), which is what the test runs. Each row comes from a field: its variable,
its default, its ``description=`` and its bounds, so the document cannot name
a setting the code lacks, miss one, or show another default.
"""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path

import annotated_types
from pydantic.fields import FieldInfo

from cloudcx.config import Settings

BEGIN = "<!-- settings-table:begin (python -m cloudcx.settings_doc) -->"
END = "<!-- settings-table:end -->"
DOCUMENT = Path("docs/deploy.md")
ENV_PREFIX = str(Settings.model_config.get("env_prefix", ""))


class MissingDescriptionError(ValueError):
    """A setting without ``description=`` cannot be documented."""


def markdown_table(settings: type[Settings] = Settings) -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in settings.model_fields.items():
        if not field.description:
            raise MissingDescriptionError(f"Settings.{name} has no description=")
        variable = f"`{ENV_PREFIX}{name.upper()}`"
        lines.append(f"| {variable} | {_default(field)} | {_cell(_meaning(field))} |")
    return "\n".join(lines)


def render(document: str, table: str) -> str:
    """``document`` with ``table`` between the markers (each must appear once, in order)."""
    if document.count(BEGIN) != 1 or document.count(END) != 1:
        raise ValueError(
            f"the document needs one begin marker {BEGIN!r} and one end marker {END!r}"
        )
    head, rest = document.split(BEGIN)
    if END not in rest:
        raise ValueError("the end marker comes before the begin marker")
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _meaning(field: FieldInfo) -> str:
    text = str(field.description)
    choices = _choices(field.annotation)
    if choices:
        text += " One of " + ", ".join(f"`{c}`" for c in choices) + "."
    bounds = _bounds(field)
    if bounds:
        text += f" ({bounds})"
    return text


def _choices(annotation: object) -> list[str]:
    if typing.get_origin(annotation) is typing.Literal:
        return [str(arg) for arg in typing.get_args(annotation)]
    return []


def _bounds(field: FieldInfo) -> str:
    words = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            words.append(f"at least {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            words.append(f"more than {item.gt}")
        elif isinstance(item, annotated_types.Le):
            words.append(f"at most {item.le}")
        elif isinstance(item, annotated_types.Lt):
            words.append(f"less than {item.lt}")
    return ", ".join(words)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloudcx.settings_doc", description=__doc__)
    parser.add_argument("document", nargs="?", type=Path, default=DOCUMENT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is not current")
    args = parser.parse_args(argv)
    current = args.document.read_text(encoding="utf-8")
    wanted = render(current, markdown_table())
    if args.check:
        if wanted != current:
            print(f"{args.document}: the settings table is out of date", file=sys.stderr)
            print("run: python -m cloudcx.settings_doc", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        args.document.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
