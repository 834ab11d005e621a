"""Tickets: the requests customers raise and agents work."""
