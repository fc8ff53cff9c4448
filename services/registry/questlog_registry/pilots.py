"""The pilot registry over HTTP: a server-rendered page (a form and the list of pilots) at
``/pilots`` and JSON routes under ``/v1/pilots`` and ``/v1/fleets``. The ingest API serves
them to its clients, and enrols and fits through them for the original game's
``/Enrol_pilot`` and ``/Fit_ship``, passing its client's context on (records.py).

Registry calls run in a worker thread (SQLAlchemy is synchronous). The event each change
emits is checked against the catalog first (a change whose event it refuses is not stored)
and stored with the change, in the outbox; the relay publishes it to Kafka right after.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from questlog_catalog.fleets import FLEETS
from questlog_catalog.records import passed_on

from questlog_registry import metrics
from questlog_registry.services import services
from questlog_registry.store import RegistryError, Stage

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# The page lists this many pilots, the latest first (the game's scripts enrol thousands).
PAGE_PILOTS = 50
WEAPON_LIMIT = 1_000_000
Changed = TypeVar("Changed")


def staging(request: Request) -> Stage:
    """How this request's changes stage their events: as records of its client's context."""
    return services(request).stage(passed_on(request.headers, datetime.now(UTC)))


async def change(request: Request, making: Callable[[Stage], Changed]) -> Changed:
    """Make a registry change in a worker thread, its event staged for this request's
    client, then wake the relay to publish it."""
    changed = await asyncio.to_thread(making, staging(request))
    services(request).relay.wake()
    return changed


class Enrolment(BaseModel):
    pilot: str = Field(description="Unique pilot name (case-insensitive), 1 to 64 characters.")
    alliance: str = Field(description=f"One of {', '.join(FLEETS)}.")
    ship: str = Field(description="A ship of the alliance's fleet (see GET /v1/fleets).")
    player: str = Field(description="The player's user id, 1 to 128 characters.")
    ship_cost: int | None = Field(
        default=None, description="The ship's price, when the caller states one: its fleet's."
    )


class Weapons(BaseModel):
    missile_launchers: int = Field(ge=0, le=WEAPON_LIMIT)
    cannons: int = Field(ge=0, le=WEAPON_LIMIT)
    missiles: int = Field(ge=0, le=WEAPON_LIMIT)
    torpedoes: int = Field(ge=0, le=WEAPON_LIMIT)


router = APIRouter(tags=["pilots"])


@router.get("/pilots", response_class=HTMLResponse)
async def pilots_page(request: Request, enrolled: str = "") -> Response:
    """The registry's page: the enrolment form and the latest pilots."""
    return await _page(request, notice=f"Pilot {enrolled} enrolled." if enrolled else "")


@router.post("/pilots", response_class=HTMLResponse)
async def enrol_from_form(
    request: Request,
    pilot: Annotated[str, Form()] = "",
    player: Annotated[str, Form()] = "",
    alliance: Annotated[str, Form()] = "",
    ship: Annotated[str, Form()] = "",
) -> Response:
    """The form's submission: enrols and shows the list, or shows the form again with why not."""
    registry = services(request).registry
    try:
        enrolled = await change(
            request, lambda stage: registry.enrol(pilot, alliance, ship, player, stage)
        )
    except RegistryError as error:
        chosen = {"pilot": pilot, "player": player, "alliance": alliance, "ship": ship}
        return await _page(request, error=str(error), chosen=chosen, status=error.status)
    return RedirectResponse(f"/pilots?enrolled={enrolled['pilot']}", status_code=303)


async def _page(
    request: Request,
    notice: str = "",
    error: str = "",
    chosen: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    listing = await asyncio.to_thread(services(request).registry.listing, PAGE_PILOTS)
    return TEMPLATES.TemplateResponse(
        request,
        "pilots.html",
        {
            "fleets": FLEETS,
            **listing,
            "notice": notice,
            "error": error,
            "chosen": chosen or {},
        },
        status_code=status,
    )


@router.get("/v1/fleets")
async def fleets() -> dict[str, dict[str, int]]:
    """Each alliance's fleet: ship -> price in credits."""
    return FLEETS


@router.get("/v1/pilots")
async def list_pilots(
    request: Request, limit: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> dict[str, Any]:
    """Pilots, the latest enrolled first, with their fittings."""
    return await asyncio.to_thread(services(request).registry.listing, limit)


@router.post("/v1/pilots", status_code=201)
async def enrol(request: Request, body: Enrolment) -> dict[str, Any]:
    """Enrol a pilot; 409 when the name is taken, 422 when the ship is not in the fleet (or
    costs other than a stated ship_cost)."""
    registry = services(request).registry
    return await change(
        request,
        lambda stage: registry.enrol(
            body.pilot, body.alliance, body.ship, body.player, stage, body.ship_cost
        ),
    )


@router.post("/v1/pilots/{name}/fittings", status_code=201)
async def fit(request: Request, name: str, body: Weapons) -> dict[str, Any]:
    """Fit weapons to a pilot's ship; 404 when there is no such pilot."""
    registry = services(request).registry
    return await change(request, lambda stage: registry.fit(name, body.model_dump(), stage))


@router.post("/v1/pilots/replay", status_code=202)
async def replay(request: Request) -> dict[str, Any]:
    """Publish every stored enrolment and fitting again, with its original event id (so the
    stream drops the ones it has seen within its dedup window); answered once Kafka has
    them all."""
    found = services(request)
    sent = await asyncio.to_thread(found.registry.replay, staging(request), found.send)
    for event_type in sent:
        metrics.EVENTS_ACCEPTED.labels(event_type).inc()
    return {"replayed": {"enrol_pilot": 0, "fit_ship": 0} | Counter(sent)}
