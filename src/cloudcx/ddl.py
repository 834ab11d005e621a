"""Schema objects that one backend has and the other has not.

The models describe both SQLite and PostgreSQL; an index that only one of
them can use (a PostgreSQL trigram index, say) is marked with ``only_on``,
and the comparison of the models with a database leaves it out elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Index


def only_on(dialect: str, index: Index) -> Index:
    """``index`` on the ``dialect`` backend only: ``create_all`` skips it elsewhere, and so
    does Alembic's comparison of the models with a database given ``include_object``."""
    index.info["only_on"] = dialect
    return index.ddl_if(dialect=dialect)


# Names of schema objects the comparison leaves alone: expression indexes, which
# SQLite cannot reflect and PostgreSQL spells its own way, and tables that no
# model describes (SQLite's full-text index and its shadow tables).
_NOT_COMPARED: set[str] = set()
_UNMAPPED_PREFIXES: set[str] = set()


def not_compared(index: Index) -> Index:
    """``index`` is made by ``create_all`` and by its migration, but Alembic's comparison
    of the models with a database skips it (its expression reads differently back)."""
    _NOT_COMPARED.add(str(index.name))
    return index


def unmapped_tables(prefix: str) -> None:
    """Tables whose names start with ``prefix`` exist without a model (made by DDL)."""
    _UNMAPPED_PREFIXES.add(prefix)


def include_object(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` hook for a database of ``dialect``."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        if name in _NOT_COMPARED:
            return False
        if type_ == "table" and reflected and name and name.startswith(tuple(_UNMAPPED_PREFIXES)):
            return False
        wanted = None if reflected else obj.info.get("only_on")
        return wanted is None or wanted == dialect

    return include
