"""CloudCX: a self-hostable customer-experience platform with an OAuth 2.0 server."""

__version__ = "0.1.0"
