"""The pilot registry over HTTP: a server-rendered page (a form and the list of pilots) at
``/pilots``, JSON routes under ``/v1/pilots`` (what ``questlog pilots`` calls), and the
registry's side of the original game's ``/Enrol_pilot`` and ``/Fit_ship``.

Registry calls run in a worker thread (SQLAlchemy is synchronous). The event each change
emits is checked against the catalog first (a change whose event it refuses is not stored)
and stored with the change, in the outbox; the relay publishes it to Kafka right after.
"""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from questlog_registry.fleets import FLEETS, WEAPONS
from questlog_registry.store import InvalidPilot, Record, RegistryError, Stage

from questlog_ingest.dependencies import context, services
from questlog_ingest.intake import checked_record, take_in
from questlog_ingest.validation import Invalid

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# The page lists this many pilots, the latest first (the game's scripts enrol thousands).
PAGE_PILOTS = 50
WEAPON_LIMIT = 1_000_000
Changed = TypeVar("Changed")


async def change(request: Request, making: Callable[[Stage], Changed]) -> Changed:
    """Make a registry change in a worker thread, its event staged as this request's would
    be on /v1/events, then wake the relay to publish it."""
    request_context, found = context(request), services(request)

    def stage(event: dict[str, Any]) -> Record:
        try:
            record = checked_record(event, request_context, found)
        except Invalid as invalid:
            raise InvalidPilot(str(invalid)) from None
        return record["user_id"], orjson.dumps(record)

    changed = await asyncio.to_thread(making, stage)
    found.relay.wake()
    return changed


class Enrolment(BaseModel):
    pilot: str = Field(description="Unique pilot name (case-insensitive), 1 to 64 characters.")
    alliance: str = Field(description=f"One of {', '.join(FLEETS)}.")
    ship: str = Field(description="A ship of the alliance's fleet (see GET /v1/fleets).")
    player: str = Field(description="The player's user id, 1 to 128 characters.")


class Weapons(BaseModel):
    missile_launchers: int = Field(ge=0, le=WEAPON_LIMIT)
    cannons: int = Field(ge=0, le=WEAPON_LIMIT)
    missiles: int = Field(ge=0, le=WEAPON_LIMIT)
    torpedoes: int = Field(ge=0, le=WEAPON_LIMIT)


router = APIRouter()


@router.get("/pilots", response_class=HTMLResponse, tags=["pilots"])
async def pilots_page(request: Request, enrolled: str = "") -> Response:
    """The registry's page: the enrolment form and the latest pilots."""
    return await _page(request, notice=f"Pilot {enrolled} enrolled." if enrolled else "")


@router.post("/pilots", response_class=HTMLResponse, tags=["pilots"])
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


@router.get("/v1/fleets", tags=["pilots"])
async def fleets() -> dict[str, dict[str, int]]:
    """Each alliance's fleet: ship -> price in credits."""
    return FLEETS


@router.get("/v1/pilots", tags=["pilots"])
async def list_pilots(
    request: Request, limit: Annotated[int | None, Query(ge=1, le=100_000)] = None
) -> dict[str, Any]:
    """Pilots, the latest enrolled first, with their fittings."""
    return await asyncio.to_thread(services(request).registry.listing, limit)


@router.post("/v1/pilots", status_code=201, tags=["pilots"])
async def enrol(request: Request, body: Enrolment) -> dict[str, Any]:
    """Enrol a pilot; 409 when the name is taken, 422 when the ship is not in the fleet."""
    registry = services(request).registry
    return await change(
        request,
        lambda stage: registry.enrol(body.pilot, body.alliance, body.ship, body.player, stage),
    )


@router.post("/v1/pilots/{name}/fittings", status_code=201, tags=["pilots"])
async def fit(request: Request, name: str, body: Weapons) -> dict[str, Any]:
    """Fit weapons to a pilot's ship; 404 when there is no such pilot."""
    registry = services(request).registry
    return await change(request, lambda stage: registry.fit(name, body.model_dump(), stage))


@router.post("/v1/pilots/replay", status_code=202, tags=["pilots"])
async def replay(request: Request) -> dict[str, Any]:
    """Publish every stored enrolment and fitting again, with its original event id (so the
    stream drops the ones it has seen within its dedup window)."""
    found = services(request)
    events = await asyncio.to_thread(found.registry.events)
    size = found.settings.api.max_batch_events
    counts = {"enrol_pilot": 0, "fit_ship": 0}
    for start in range(0, len(events), size):
        batch = events[start : start + size]
        outcome = await take_in(batch, context(request), found)
        if outcome.rejected:
            raise InvalidPilot(f"stored event refused: {outcome.rejected[0]['reason']}")
        for event in batch:
            counts[event["event_type"]] += 1
    return {"replayed": counts}


# The game routes whose events go through the registry.
REGISTRY_EVENTS = ("enrol_pilot", "fit_ship")


def is_registered(event: dict[str, Any]) -> bool:
    """Enrolments always are; a fitting when it names its pilot (the original game's did not)."""
    return event["event_type"] == "enrol_pilot" or "pilot" in event


async def record_game_event(request: Request, event: dict[str, Any]) -> None:
    """The registry's part of ``/Enrol_pilot`` and ``/Fit_ship``, for an event the catalog
    accepts."""
    registry = services(request).registry
    if event["event_type"] == "enrol_pilot":
        pilot, alliance, ship = event["pilot"], event["allegiance"], event["ship"]
        await change(
            request,
            lambda stage: registry.enrol(
                pilot, alliance, ship, event["user_id"], stage, event["ship_cost"]
            ),
        )
    else:
        weapons = {weapon: event[weapon] for weapon in WEAPONS}
        await change(request, lambda stage: registry.fit(event["pilot"], weapons, stage))
