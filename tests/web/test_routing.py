"""Endpoints: module-level handlers bound to their owner, documented as FastAPI would document them."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from passgate.web.routing import BareRoute, Endpoint
from passgate.web.schemas import Credentials


class Owner:
    greeting = "hello"


async def greet(owner: Owner, name: str = "you") -> dict[str, str]:
    """Says hello."""
    return {"greeting": f"{owner.greeting}, {name}"}


async def bare(owner: Owner, request: Request) -> Response:
    return Response(owner.greeting, media_type="text/plain")


async def test_a_bound_handler_gets_its_owner_and_its_parameters() -> None:
    app = FastAPI()
    app.router.routes.extend([
        Endpoint("/greet", greet).route(Owner(), prefix="/api", tags=["t"]),
        Endpoint("/bare", bare, ["POST"], body=Credentials, bare=True).route(Owner(), documented=True),
    ])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/api/greet", params={"name": "ada"})).json() == {"greeting": "hello, ada"}
        assert (await client.post("/bare")).text == "hello"
        document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/greet"]["get"]
    assert operation["operationId"] == "greet_api_greet_get" and operation["description"] == "Says hello."
    assert [p["name"] for p in operation["parameters"]] == ["name"]  # not the owner
    posted = document["paths"]["/bare"]["post"]
    assert posted["requestBody"]["content"]["application/json"]["schema"]["title"] == "Credentials"


def test_a_bare_endpoint_is_a_bare_route_and_an_undocumented_one_is_hidden() -> None:
    route = Endpoint("/bare", bare, bare=True).route(Owner(), documented=False)
    assert isinstance(route, BareRoute) and not route.include_in_schema


def test_an_endpoint_documents_its_failures_and_its_credential() -> None:
    route = Endpoint("/bare", bare, ["POST"], body=Credentials, fails=(401,), auth="either").route(Owner())
    assert route.openapi_extra is not None
    assert route.openapi_extra["security"] == [{"bearer": []}, {"session": [], "csrf": []}]
    assert sorted(route.responses) == [400, 401, 413, 415, 422]  # a JSON body's failures added
    for answer in route.responses.values():
        assert list(answer["content"]) == ["application/problem+json"]
    read = Endpoint("/greet", greet, auth="cookie").route(Owner())
    assert read.openapi_extra == {"security": [{"session": []}]}  # no CSRF token for a GET
