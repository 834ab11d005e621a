"""API keys: personal access tokens, the alternative to OAuth access tokens."""
