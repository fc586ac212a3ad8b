"""The web layer: ASGI guards, problem+json, the JSON API and FastAPI dependencies."""
