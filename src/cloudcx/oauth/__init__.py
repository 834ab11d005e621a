"""The OAuth 2.0 authorization server (RFC 6749 and its companions)."""
