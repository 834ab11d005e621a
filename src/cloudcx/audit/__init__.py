"""The security audit log: who did what, to what, from where, and when."""
