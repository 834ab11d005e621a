"""Passwords for the shell: from a hidden prompt (getpass) or one line of standard
input, so they need not sit in the shell's history or the process list.

Nothing here echoes, prints or logs a password.
"""

from __future__ import annotations

import typer

NO_STDIN = "No password on standard input."
BOTH = "Give the password on the command line or on standard input, not both."
DIFFERENT = "The two passwords differ; nothing was changed."


class PasswordInputError(ValueError):
    """The password could not be read; the message says why, never what was typed."""


def read_password(given: str | None, *, from_stdin: bool = False, prompt: str = "Password") -> str:
    """``given`` on the command line, else the first line of standard input
    (``from_stdin``), else typed twice at a hidden prompt."""
    if given is not None and from_stdin:
        raise PasswordInputError(BOTH)
    if given is not None:
        return given
    if from_stdin:
        return _from_stdin()
    first = typer.prompt(prompt, hide_input=True)
    again = typer.prompt("Repeat it", hide_input=True)
    if first != again:
        raise PasswordInputError(DIFFERENT)
    return str(first)


def _from_stdin() -> str:
    """One line, without its line break: spaces inside or around are the password's."""
    stream = typer.get_text_stream("stdin")
    line = stream.readline().removesuffix("\n").removesuffix("\r")
    if not line:
        raise PasswordInputError(NO_STDIN)
    return line
