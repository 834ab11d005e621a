"""Defences that span domains: brute-force throttling of sign-in, request limits."""
