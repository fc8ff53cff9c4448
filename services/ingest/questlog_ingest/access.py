"""Who may call a route: the kinds of admission ``dependencies.admit`` gives."""

from enum import Enum


class Access(Enum):
    """A route's admission: a write key as the settings ask (``require_write_key`` for the
    event routes, ``game_routes_require_write_key`` for the original game's), or always an
    operator's key, whatever the settings."""

    EVENTS = "require_write_key"
    GAME = "game_routes_require_write_key"
    OPERATOR = "operator"
