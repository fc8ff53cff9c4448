"""The API's side of the pilot registry, a service of its own (questlog_registry): the API
serves the registry's routes to its clients, enrols and fits through it for the original
game's routes, and asks it whom a write key belongs to. Every call passes the client's
context on (questlog_catalog.records), so the registry's events carry it as the API's do.

When the registry cannot be reached, these answer 503 with Retry-After. Event intake goes
on without it, except for requests whose write key this API process has not checked lately
(auth.py caches what it learns).
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import HTTPException, Request, Response
from questlog_catalog.fleets import WEAPONS
from questlog_catalog.records import RequestContext, forwarded

from questlog_ingest.access import Access

# The registry's routes the API serves as they are, their methods, and who may call them
# (dependencies.py: Access): its page as the game's routes, its JSON routes as the event
# routes, replay only with an operator's key (their OpenAPI is the registry's own, at its
# /docs).
SERVED = {
    "/pilots": (["GET", "POST"], Access.GAME),
    "/v1/fleets": (["GET"], Access.EVENTS),
    "/v1/pilots": (["GET", "POST"], Access.EVENTS),
    "/v1/pilots/{name}/fittings": (["POST"], Access.EVENTS),
    "/v1/pilots/replay": (["POST"], Access.OPERATOR),
}
# The request headers passed on with them, besides the client's context; and the response
# headers passed back.
REQUEST_HEADERS = ("accept", "content-type")
RESPONSE_HEADERS = ("content-type", "location", "retry-after")


class RegistryUnavailable(Exception):
    """The registry cannot be reached; the message says why."""


@dataclass(frozen=True)
class Holder:
    """Whom a write key was given to."""

    name: str
    revoked: bool
    operator: bool


class RegistryClient:
    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url
        self._http = httpx.AsyncClient(base_url=url, timeout=timeout_seconds)
        # What the registry records as the user agent is the client's, or none.
        del self._http.headers["user-agent"]

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **options)
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise RegistryUnavailable(
                f"the registry at {self.url} cannot be reached: {reason}"
            ) from None

    async def serve(self, request: Request, body: bytes, context: RequestContext) -> Response:
        """The registry's answer to ``request`` (with its ``body``), to one of its routes the
        API serves."""
        headers = {
            name: request.headers[name] for name in REQUEST_HEADERS if name in request.headers
        }
        answer = await self._send(
            request.method,
            request.url.path,
            params=request.query_params,
            content=body,
            headers=headers | forwarded(context),
        )
        passed = {name: answer.headers[name] for name in RESPONSE_HEADERS if name in answer.headers}
        return Response(answer.content, answer.status_code, headers=passed)

    async def record(self, event: dict[str, Any], context: RequestContext) -> None:
        """The registry's part of ``/Enrol_pilot`` and ``/Fit_ship``, for an event the catalog
        accepts: the enrolment or fitting it names; the registry's refusal as an HTTP error."""
        if event["event_type"] == "enrol_pilot":
            path = "/v1/pilots"
            body = {
                "pilot": event["pilot"],
                "alliance": event["allegiance"],
                "ship": event["ship"],
                "player": event["user_id"],
                "ship_cost": event["ship_cost"],
            }
        else:
            path = f"/v1/pilots/{quote(event['pilot'], safe='')}/fittings"
            body = {weapon: event[weapon] for weapon in WEAPONS}
        answer = await self._send("POST", path, json=body, headers=forwarded(context))
        if answer.is_error:
            raise HTTPException(answer.status_code, _detail(answer), _retry_after(answer))

    async def holder(self, key_digest: str) -> Holder | None:
        """Whom the key of this digest was given to; None for a key never created."""
        answer = await self._send("GET", f"/v1/write-keys/{key_digest}")
        if answer.status_code == 404:
            return None
        if answer.is_error:
            raise HTTPException(answer.status_code, _detail(answer), _retry_after(answer))
        found = answer.json()
        return Holder(found["name"], found["revoked"], found["operator"])


def _detail(answer: httpx.Response) -> Any:
    try:
        return answer.json()["detail"]
    except (ValueError, KeyError, TypeError):
        return f"the registry answered {answer.status_code}: {answer.text[:200]}"


def _retry_after(answer: httpx.Response) -> dict[str, str] | None:
    later = answer.headers.get("retry-after")
    return {"Retry-After": later} if later else None


# The game routes whose events go through the registry.
REGISTRY_EVENTS = ("enrol_pilot", "fit_ship")


def is_registered(event: dict[str, Any]) -> bool:
    """Enrolments always are; a fitting when it names its pilot (the original game's did not)."""
    return event["event_type"] == "enrol_pilot" or "pilot" in event
