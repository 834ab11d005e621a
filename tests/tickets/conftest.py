from tests.cxapi import admin_headers, agent_headers, tiny_rate_limit

__all__ = ["admin_headers", "agent_headers", "tiny_rate_limit"]
