"""The original game's routes, kept so its Apache Bench and curl scripts still work.

Each route emits its event with realistic random attributes (a sword's strength is
normally distributed around 5 and clipped to 0..10, guilds and sword types come from fixed
lists, ...) and answers the text the original answered. A JSON object sent in the body
(``POST``) sets attributes instead of chance, e.g. ``{"pilot": "Maverick"}``; ``?user_id=``
names the player, otherwise a random one of a thousand is used.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import HTTPException, Request
from questlog_catalog.fleets import FLEETS

SWORDS = {"longsword": 120, "broadsword": 150, "katana": 300, "rapier": 90, "scimitar": 110}
AXES = {"hatchet": 40, "bearded axe": 95, "battleaxe": 160, "greataxe": 220}
SHIELDS = {"buckler": 50, "heater": 85, "kite shield": 120, "tower shield": 200}
GUILDS = [
    "Knights of the Round",
    "Order of the Phoenix",
    "Shadow Brotherhood",
    "Iron Legion",
    "Silver Hand",
    "Crimson Fleet",
]


def _score(rng: random.Random) -> float:
    return round(min(10.0, max(0.0, rng.gauss(5.0, 2.0))), 1)


def _price(rng: random.Random, base: int) -> int:
    return round(base * rng.uniform(0.8, 1.25))


def _weapon(kinds: dict[str, int], kind: str, cost: str, score: str) -> Callable[..., Any]:
    def attributes(rng: random.Random) -> dict[str, Any]:
        chosen = rng.choice(list(kinds))
        return {kind: chosen, cost: _price(rng, kinds[chosen]), score: _score(rng)}

    return attributes


def _conflict(rng: random.Random) -> dict[str, Any]:
    guild, enemy = rng.sample(GUILDS, 2)
    return {"guild": guild, "enemy_guild": enemy}


def _pilot(rng: random.Random) -> dict[str, Any]:
    allegiance = rng.choice(list(FLEETS))
    ship = rng.choice(list(FLEETS[allegiance]))
    return {
        "pilot": f"pilot-{rng.getrandbits(32):08x}",
        "allegiance": allegiance,
        "ship": ship,
        "ship_cost": FLEETS[allegiance][ship],
    }


def _fitting(rng: random.Random) -> dict[str, Any]:
    return {
        "missile_launchers": rng.randint(0, 4),
        "cannons": rng.randint(0, 8),
        "missiles": rng.randint(0, 40),
        "torpedoes": rng.randint(0, 12),
    }


def _ship_cost(event: dict[str, Any]) -> dict[str, Any]:
    """A body that picks its ship pays that ship's price."""
    fleet = FLEETS.get(event.get("allegiance"), {})  # type: ignore[arg-type]
    ship = event.get("ship")
    return {"ship_cost": fleet[ship]} if isinstance(ship, str) and ship in fleet else {}


@dataclass(frozen=True)
class GameRoute:
    path: str
    event_type: str
    answer: str
    attributes: Callable[[random.Random], dict[str, Any]]
    # Attributes that follow from others, worked out again after a body chose some.
    derived: Callable[[dict[str, Any]], dict[str, Any]] = lambda event: {}


ROUTES = [
    GameRoute("/", "default", "This is the default response!\n", lambda rng: {}),
    GameRoute(
        "/purchase_a_sword",
        "purchase_sword",
        "Sword Purchased!\n",
        _weapon(SWORDS, "sword_type", "sword_cost", "strength"),
    ),
    GameRoute(
        "/purchase_an_axe",
        "purchase_axe",
        "Axe Purchased!\n",
        _weapon(AXES, "axe_type", "axe_cost", "strength"),
    ),
    GameRoute(
        "/purchase_a_shield",
        "purchase_shield",
        "Shield Purchased!\n",
        _weapon(SHIELDS, "shield_type", "shield_cost", "defense"),
    ),
    GameRoute(
        "/join_guild", "join_guild", "Guild joined!\n", lambda rng: {"guild": rng.choice(GUILDS)}
    ),
    GameRoute(
        "/join_a_guild", "join_guild", "Guild joined!\n", lambda rng: {"guild": rng.choice(GUILDS)}
    ),
    GameRoute("/declare_peace", "declare_peace", "Peace declared!\n", _conflict),
    GameRoute("/declare_a_war", "declare_war", "War declared!\n", _conflict),
    GameRoute("/Enrol_pilot", "enrol_pilot", "Pilot enrolled!\n", _pilot, _ship_cost),
    GameRoute("/Fit_ship", "fit_ship", "Ship fitted!\n", _fitting),
]


async def game_event(request: Request, route: GameRoute, rng: random.Random) -> dict[str, Any]:
    """The event a call of ``route`` emits: random attributes, overridden by a JSON body."""
    event: dict[str, Any] = {
        "event_type": route.event_type,
        "user_id": request.query_params.get("user_id") or f"player-{rng.randrange(1000):03d}",
        **route.attributes(rng),
    }
    body = await request.body()
    if body:
        try:
            chosen = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise HTTPException(400, f"malformed JSON: {error}") from None
        if not isinstance(chosen, dict):
            raise HTTPException(422, "the body must be a JSON object of event attributes")
        event.update(chosen)
        event.update({k: v for k, v in route.derived(event).items() if k not in chosen})
    return event
