from fastapi import Depends, FastAPI

from passgate import Caller, Passgate

auth = Passgate.from_env()  # embedded defaults: SQLite in ./passgate-data; PASSGATE_* variables override
app = FastAPI(lifespan=auth.lifespan)
auth.install(app)  # the JSON API under /api, problem+json errors, CSRF and Origin guards


@app.get("/hello")
async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
    return {"hello": user.username}
