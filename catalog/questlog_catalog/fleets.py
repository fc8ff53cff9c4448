"""The space game's alliances and their fleets: each ship and its price in credits, and
the weapons a ship is fitted with."""

FLEETS: dict[str, dict[str, int]] = {
    "Federation": {"Corvette": 1_200, "Frigate": 3_500, "Cruiser": 9_000, "Carrier": 24_000},
    "Empire": {"Interceptor": 900, "Destroyer": 5_200, "Dreadnought": 30_000},
    "Free Traders": {"Shuttle": 400, "Freighter": 2_100, "Blockade Runner": 6_800},
}

# What a ship can be fitted with, each a count.
WEAPONS = ("missile_launchers", "cannons", "missiles", "torpedoes")


class UnknownShip(ValueError):
    """The alliance is not on the list, or its fleet has no such ship."""


def ship_cost(alliance: str, ship: str) -> int:
    """The price of ``ship`` in ``alliance``'s fleet."""
    if alliance not in FLEETS:
        raise UnknownShip(f"unknown alliance {alliance!r}; choose one of {', '.join(FLEETS)}")
    fleet = FLEETS[alliance]
    if ship not in fleet:
        raise UnknownShip(
            f"the {alliance} fleet has no ship {ship!r}; choose one of {', '.join(fleet)}"
        )
    return fleet[ship]
