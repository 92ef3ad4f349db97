"""Request bodies read as the record reader reads a file (:func:`notes_nlp.io.values.loads`).

FastAPI parses a JSON body with ``json.loads``: a 5,000-digit number raises a
ValueError and deep nesting a RecursionError, which it answers with a 400
"There was an error parsing the body" (ours said "send UTF-8 JSON"), and
1e400, NaN and Infinity come through as floats no record can hold. Our routes
read the body with the reader's parser instead: such a number inside a record
becomes that record's error, naming the field, and the others are scored;
nesting the parser cannot follow is a 422 that says so.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Coroutine

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from notes_nlp.io.values import OutOfRange, loads


class RecordJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
            if isinstance(self._json, OutOfRange):  # the whole body: no record to give the error to
                raise json.JSONDecodeError(f"{self._json.text} is not a number that can be read, nor a JSON object", "", 0)
        return self._json


class RecordJsonRoute(APIRoute):
    """A route whose handler sees a :class:`RecordJsonRequest` (FastAPI's documented way to
    change how a body is read)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_record_json(request: Request) -> Response:
            return await handler(RecordJsonRequest(request.scope, request.receive))

        return with_record_json
