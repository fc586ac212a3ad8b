"""One node of a cluster: the README's application, configured only by ``PASSGATE_*`` variables.

Every node gets the same ``PASSGATE_STORE`` (``redis://…`` or ``redis+cluster://…``), the same
``PASSGATE_DATABASE_URL`` and the same ``PASSGATE_SECRET``; then any node serves any login, and a
logout on one holds on all of them within a second.  ``run.sh`` starts two nodes; ``nginx.conf``
puts them behind one address.
"""

import os

from fastapi import Depends, FastAPI

from passgate import Caller, Passgate

auth = Passgate.from_env()  # PASSGATE_STORE, PASSGATE_DATABASE_URL, PASSGATE_SECRET, PASSGATE_PUBLIC_URL
app = FastAPI(lifespan=auth.lifespan)
auth.install(app)
NODE = os.environ.get("NODE_NAME", "")


@app.get("/hello")
async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
    return {"hello": user.username, "node": NODE}
