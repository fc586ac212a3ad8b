"""The README's ``app.py`` (saved in the app's working directory by the lab), plus the two routes the
lab compares: ``/plain``, not guarded, and ``/maybe``, behind ``optional_user``.

They are added after ``auth.install(app)``, as a user's own routes are.
"""

from typing import cast

import app as readme  # type: ignore[import-not-found]
from fastapi import Depends, FastAPI

from passgate import Caller, Passgate

app = cast(FastAPI, readme.app)
auth = cast(Passgate, readme.auth)


@app.get("/plain")
async def plain() -> dict[str, str]:
    return {"hello": "bench"}


@app.get("/maybe")
async def maybe(user: Caller | None = Depends(auth.optional_user)) -> dict[str, str | None]:
    return {"hello": user.username if user is not None else None}
