"""The settings table of docs/deploy.md is written from the Settings class and kept current."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from cloudcx import settings_doc
from cloudcx.config import Settings
from cloudcx.settings_doc import BEGIN, END, MissingDescriptionError, markdown_table, render

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = ROOT / "docs" / "deploy.md"


def test_docs_deploy_md_has_the_current_table() -> None:
    assert settings_doc.main(["--check", str(DEPLOY_DOC)]) == 0, (
        "docs/deploy.md is out of date: run python -m cloudcx.settings_doc"
    )


def test_every_setting_has_a_row_with_its_variable_and_default() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in markdown_table().splitlines()[2:]}
    assert set(rows) == {f"CLOUDCX_{name.upper()}" for name in Settings.model_fields}
    assert "| `3600` |" in rows["CLOUDCX_ACCESS_TOKEN_TTL"]
    assert "(at least 60, at most 86400)" in rows["CLOUDCX_ACCESS_TOKEN_TTL"]
    assert "| unset |" in rows["CLOUDCX_REDIS_URL"]
    assert "| empty |" in rows["CLOUDCX_TRUSTED_PROXIES"]
    assert "One of `RS256`, `ES256`, `PS256`." in rows["CLOUDCX_SIGNING_ALG"]
    assert "(more than 0)" in rows["CLOUDCX_REVOCATION_POLL_INTERVAL"]


def test_a_setting_without_a_description_cannot_be_documented() -> None:
    class WithAnUndocumentedField(Settings):
        new_knob: int = 3

    with pytest.raises(MissingDescriptionError, match="new_knob"):
        markdown_table(WithAnUndocumentedField)


def test_a_description_cannot_break_the_table() -> None:
    class WithAPipe(Settings):
        mode: Literal["a", "b"] = Field(default="a", description="Either | or.\nSecond line.")

    row = markdown_table(WithAPipe).splitlines()[-1]
    assert row == "| `CLOUDCX_MODE` | `a` | Either \\| or. Second line. One of `a`, `b`. |"


def test_a_stale_document_fails_the_check_and_is_rewritten(tmp_path: Path) -> None:
    doc = tmp_path / "deploy.md"
    doc.write_text(f"# Title\n\n{BEGIN}\n| old |\n{END}\n\nAfter.\n")
    assert settings_doc.main(["--check", str(doc)]) == 1
    assert "| old |" in doc.read_text()  # --check never writes
    assert settings_doc.main([str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Title\n\n") and text.endswith(f"{END}\n\nAfter.\n")
    assert "| old |" not in text
    assert settings_doc.main(["--check", str(doc)]) == 0


@pytest.mark.parametrize(
    "document",
    ["no markers", f"{BEGIN}\n", f"{END}\n{BEGIN}\n", f"{BEGIN}{END}{BEGIN}{END}"],
    ids=["none", "no-end", "end-first", "twice"],
)
def test_a_document_without_one_pair_of_markers_is_refused(document: str) -> None:
    with pytest.raises(ValueError, match="marker"):
        render(document, "| table |")
