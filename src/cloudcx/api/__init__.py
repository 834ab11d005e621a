"""The CX REST API (``/api/v1``): bearer-protected JSON (DESIGN.md §5)."""
