"""Cross-cutting primitives: secrets, passwords, encryption at rest, HTTP helpers."""
