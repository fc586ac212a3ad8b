"""Reading request bodies strictly: JSON (the media type, the syntax, then the shape) and HTML forms."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request

from passgate.errors import MalformedRequest, UnsupportedMediaType, ValidationFailed
from passgate.extras import require
from passgate.transports import read_head
from passgate.web.problems import describe

M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 32


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _too_deep(raw: bytes) -> bool:
    depth = 0
    for byte in raw:
        if byte in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in b"]}":
            depth -= 1
    return False


def _text(value: str) -> bool:
    """Whether ``value`` is Unicode text: no lone surrogate, which ``json`` decodes an escaped one
    into and some multipart charsets produce, and which nothing downstream can encode."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


async def form_fields(request: Request) -> FormData:
    """The submitted form; 400 if a field is not Unicode text.

    A multipart part may name its charset, and some (``utf-7``, ``unicode_escape``) decode to lone
    surrogates, which the template, the hasher and the database would each fail to encode.
    Forms need the ``board`` extra (python-multipart).
    """
    require("python_multipart", "reading a form")
    form = await request.form()
    if not all(_text(value) for value in form.values() if isinstance(value, str)):
        raise MalformedRequest("a form field is not valid Unicode text")
    return form


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object: 415 for another media type, 400 for bad JSON, 422 for a non-object."""
    if not is_json(read_head(request.scope).content_type):
        raise UnsupportedMediaType("send application/json")
    raw = await request.body()
    try:
        if _too_deep(raw):
            raise ValueError("nested too deeply")
        data = json.loads(raw, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise MalformedRequest("the body is not valid JSON") from exc
    if not _text(json.dumps(data, ensure_ascii=False)):  # in any key or value
        raise MalformedRequest("a string in the body holds a lone surrogate (RFC 7493)")
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object")
    return data


def parse(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise ValidationFailed(describe(list(exc.errors()))) from exc


async def read(request: Request, model: type[M]) -> M:
    """The JSON body as ``model`` (a :class:`~passgate.web.schemas.Body`), strictly: 415 for another
    media type, 400 for malformed JSON, 422 for a body that is not an object or breaks the model."""
    return parse(model, await json_object(request))
