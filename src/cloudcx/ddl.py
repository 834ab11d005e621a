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


def include_object(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` hook for a database of ``dialect``."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        wanted = None if reflected else obj.info.get("only_on")
        return wanted is None or wanted == dialect

    return include
