"""Contacts: the customers who raise tickets."""
