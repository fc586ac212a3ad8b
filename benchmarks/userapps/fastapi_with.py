"""The README's ``app.py`` (saved beside this file's working directory by the lab), plus the two
routes the lab compares: ``/plain``, not guarded, and ``/maybe``, behind ``optional_user``.

They are added after ``auth.install(app)``, as a user's own routes are.
"""

from app import Caller, app, auth  # type: ignore[import-not-found]
from fastapi import Depends


@app.get("/plain")
async def plain() -> dict[str, str]:
    return {"hello": "bench"}


@app.get("/maybe")
async def maybe(user: Caller | None = Depends(auth.optional_user)) -> dict[str, str | None]:
    return {"hello": user.username if user is not None else None}
