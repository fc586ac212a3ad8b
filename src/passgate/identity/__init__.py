"""Users: names, passwords (argon2id) and the user repository."""
