"""How the command line presents itself: help without type labels, plain tables.

Typer prints a type beside every option (``<str>``, ``<bool>`` even on flags,
``<list[str]>`` on a repeatable one), which reads like Python, not like help.
Every command and group of ``Cli`` shows instead a placeholder for the value
(the option's own ``metavar``, else its name: ``--tenant DOMAIN``), the
choices of a choice (``json|text``) and nothing for a flag.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer import _click as click  # Typer 0.29 carries its own click, which its classes use
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType


def _placeholder(param: click.Parameter) -> None:
    """Give ``param`` a metavar for the help: shown as is, and only there (errors name
    options by their flags)."""
    if not isinstance(param, TyperOption) or param.metavar is not None:
        return
    if param.is_flag or param.count:
        param.metavar = ""
    elif param.type_descriptor.is_choice:
        choices = param.type_descriptor.choices or ()
        param.metavar = "|".join(str(getattr(c, "value", c)) for c in choices)
    else:
        param.metavar = (param.name or "value").upper()


class Command(TyperCommand):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)  # with --help, made on first use
        for param in params:
            _placeholder(param)
        return params


class Group(TyperGroup):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        for param in params:
            _placeholder(param)
        return params


class Cli(typer.Typer):
    """A ``typer.Typer`` whose groups and commands render help as above."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(**kwargs)

    def command(
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", Command)
        return super().command(name, **kwargs)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, for reading and for ``awk``/``cut``."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]
    return "\n".join(lines)
