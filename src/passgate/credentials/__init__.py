"""Credentials: login records, session ids, access and refresh tokens, keys, revocation."""
