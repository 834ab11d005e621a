"""The words that search compares, made the same way for a ticket and for a query.

NFKC, case-folded, accents removed from Latin letters; a word is a run of
letters, digits and marks (``tickets.search`` says why the databases can then
index them as they are). Migration 0014 holds a copy as of its revision.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_WORD = 60  # longer runs (hashes, base64) are no words anybody types
MAX_DOCUMENT_BYTES = 400_000  # well inside PostgreSQL's 1 MB tsvector
MAX_QUERY_WORDS = 12


def _is_word_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LNM"


def _unaccented(text: str) -> str:
    """Combining marks dropped after Latin letters only ("é" → "e"); elsewhere a
    mark is part of the letter (Devanagari vowel signs, say)."""
    out: list[str] = []
    for c in unicodedata.normalize("NFD", text):
        if unicodedata.combining(c) and out and out[-1] < "\u0250":
            continue
        out.append(c)
    return unicodedata.normalize("NFC", "".join(out))


def words(text: str) -> list[str]:
    """The words of ``text`` as search compares them, in order, repeats kept."""
    folded = _unaccented(unicodedata.normalize("NFKC", text).casefold())
    found: list[str] = []
    word: list[str] = []
    for c in folded + " ":
        if _is_word_char(c):
            word.append(c)
        elif word:
            if len(word) <= MAX_WORD:
                found.append("".join(word))
            word = []
    return found


def document(parts: Iterable[str]) -> list[str]:
    """The distinct words of ``parts``, first seen first, up to MAX_DOCUMENT_BYTES."""
    seen: dict[str, None] = {}
    size = 0
    for part in parts:
        for word in words(part):
            if word in seen:
                continue
            size += len(word.encode()) + 1
            if size > MAX_DOCUMENT_BYTES:
                return list(seen)
            seen[word] = None
    return list(seen)


def stored(dialect: str, doc: list[str]) -> str:
    """The document as the column holds it: words between spaces, or a tsvector
    literal of quoted lexemes (a word never holds a quote or a backslash)."""
    if dialect == "postgresql":
        return " ".join(f"'{w}'" for w in doc)
    return " ".join(doc)


def query_words(q: str) -> list[str]:
    return list(dict.fromkeys(words(q)))[:MAX_QUERY_WORDS]


def match_value(dialect: str, q: str) -> str | None:
    """The bound value of the match condition for ``q``; None when ``q`` has no word
    (then nothing matches)."""
    found = query_words(q)
    if not found:
        return None
    if dialect == "postgresql":
        return " & ".join(f"'{w}'" if w.isdigit() else f"'{w}':*" for w in found)
    return " ".join(f'"{w}"' if w.isdigit() else f'"{w}"*' for w in found)
