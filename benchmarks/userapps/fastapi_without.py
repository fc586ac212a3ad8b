"""The user's FastAPI app before passgate: the same routes, a no-op async dependency, no auth."""

from fastapi import Depends, FastAPI

app = FastAPI()


async def nobody() -> str:
    """A no-op async dependency: what any ``Depends`` costs, with nothing checked."""
    return "bench"


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/plain")
async def plain() -> dict[str, str]:
    return {"hello": "bench"}


@app.get("/dep")
async def dep(user: str = Depends(nobody)) -> dict[str, str]:
    return {"hello": user}
