"""The registry's operations. Each change is also an event, which goes into the outbox in
the change's own transaction: a change and its event are stored together or not at all.
The relay (relay.py) publishes the outbox to Kafka and removes what Kafka acknowledged."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from alembic import command
from alembic.config import Config
from questlog_catalog.fleets import WEAPONS, UnknownShip, ship_cost
from sqlalchemy import Engine, create_engine, delete, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from questlog_registry.models import Fitting, OutboxEvent, Pilot, iso

MIGRATIONS = Path(__file__).parent / "migrations"
NAME_LIMIT = 64
PLAYER_LIMIT = 128
# A Kafka record: its key and its value.
Record = tuple[str, bytes]
# The record a change's event is published as; raises InvalidPilot when the catalog refuses
# the event (then the change is not stored).
Stage = Callable[[dict[str, Any]], Record]
# Publishes records to Kafka; raises unless Kafka acknowledged every one.
Send = Callable[[list[Record]], None]


class RegistryError(Exception):
    """A request the registry refuses; ``status`` is its HTTP status."""

    status = 422


class InvalidPilot(RegistryError):
    pass


class DuplicatePilot(RegistryError):
    status = 409


class UnknownPilot(RegistryError):
    status = 404


class RegistryNotReady(Exception):
    """The registry's database is not migrated yet: it could not be reached at start."""


def text(field: str, raw: object, limit: int) -> str:
    """A name or id, trimmed; refused when empty, too long or holding control characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPilot(f"{field}: a {field} is required")
    value = raw.strip()
    if len(value) > limit:
        raise InvalidPilot(f"{field}: at most {limit} characters")
    if not value.isprintable():
        raise InvalidPilot(f"{field}: control characters are not allowed")
    return value


def open_engine(url: str, password: str = "") -> Engine:
    """An engine on ``url``; ``password`` (from a secret) replaces the URL's own."""
    target = make_url(url)
    if password:
        target = target.set(password=password)
    if target.get_backend_name() != "sqlite":
        return create_engine(target, pool_pre_ping=True)
    if target.database:
        Path(target.database).parent.mkdir(parents=True, exist_ok=True)
    # The service's worker threads share the engine; SQLite serialises their writes.
    engine = create_engine(target, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer
        cursor.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Registry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Why the registry cannot be used yet (its database could not be migrated when the
        # service started); None when it can.
        self.unready: str | None = None

    def migrate(self) -> None:
        migrate(self.engine)
        self.unready = None

    def session(self) -> Session:
        """A session on the registry's database; RegistryNotReady until it is migrated."""
        if self.unready is not None:
            raise RegistryNotReady(self.unready)
        return self._sessions()

    def listing(self, limit: int | None = None) -> dict[str, Any]:
        """How many pilots there are, and the latest ``limit`` of them, the latest first."""
        query = select(Pilot).order_by(Pilot.enrolled_at.desc(), Pilot.id.desc()).limit(limit)
        with self.session() as session:
            return {
                "total": session.scalar(select(func.count(Pilot.id))) or 0,
                "pilots": [pilot.as_dict() for pilot in session.scalars(query)],
            }

    def enrol(
        self,
        name: object,
        alliance: str,
        ship: str,
        player: str,
        stage: Stage,
        stated_cost: int | None = None,
    ) -> dict[str, Any]:
        """Enrol a pilot, with its ``enrol_pilot`` event into the outbox. The ship's price
        comes from the fleet list; a caller that states one must state that one."""
        name = text("pilot", name, NAME_LIMIT)
        player = text("player", player, PLAYER_LIMIT)
        try:
            cost = ship_cost(alliance, ship)
        except UnknownShip as error:
            raise InvalidPilot(str(error)) from None
        if stated_cost is not None and stated_cost != cost:
            raise InvalidPilot(f"ship_cost: a {ship} of the {alliance} fleet costs {cost}")
        pilot = Pilot(
            name=name,
            name_key=name.casefold(),
            alliance=alliance,
            ship=ship,
            ship_cost=cost,
            player=player,
            event_id=str(uuid4()),
            enrolled_at=datetime.now(UTC),
            fittings=[],
        )
        with self.session() as session, session.begin():
            session.add(pilot)
            try:
                session.flush()
            except IntegrityError:
                raise DuplicatePilot(
                    f"a pilot named {name!r} already exists; choose another name"
                ) from None
            session.add(outbox_event(enrolment_event(pilot), stage))
        return pilot.as_dict()

    def fit(self, name: str, weapons: dict[str, int], stage: Stage) -> dict[str, Any]:
        """Fit weapons to a pilot's ship, with its ``fit_ship`` event into the outbox."""
        with self.session() as session, session.begin():
            pilot = self._find(session, name)
            fitting = Fitting(
                **{weapon: weapons[weapon] for weapon in WEAPONS},
                event_id=str(uuid4()),
                fitted_at=datetime.now(UTC),
            )
            pilot.fittings.append(fitting)
            session.flush()
            session.add(outbox_event(fitting_event(pilot, fitting), stage))
            return pilot.as_dict()

    def relay(self, send: Send, limit: int) -> list[str]:
        """Send the oldest ``limit`` events of the outbox and remove them once Kafka has them;
        the types of those sent. Replicas sharing a database take only rows no other has
        locked (SKIP LOCKED on PostgreSQL; SQLite has one writer). A relay that dies after
        Kafka's acknowledgement but before its commit leaves its events to be sent again,
        with their event ids, which the stream drops as already seen."""
        oldest = select(OutboxEvent).order_by(OutboxEvent.id).limit(limit)
        with self.session() as session, session.begin():
            events = session.scalars(oldest.with_for_update(skip_locked=True)).all()
            if events:
                send([(outboxed.key, outboxed.value) for outboxed in events])
                sent = [outboxed.id for outboxed in events]
                session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(sent)))
        return [outboxed.event_type for outboxed in events]

    def replay(self, stage: Stage, send: Send, batch: int = 500) -> list[str]:
        """Send every enrolment's and fitting's event again, staged now, with its original
        event id, ``batch`` at a time; the types of those sent."""
        events = self.events()
        for start in range(0, len(events), batch):
            send([stage(event) for event in events[start : start + batch]])
        return [event["event_type"] for event in events]

    def check(self) -> None:
        """Raise unless the database is migrated and answers."""
        with self.session() as session:
            session.execute(select(1))

    def outbox_size(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count(OutboxEvent.id))) or 0

    def events(self) -> list[dict[str, Any]]:
        """Every enrolment and fitting as the event it emitted, in the order they happened."""
        with self.session() as session:
            pilots = session.scalars(select(Pilot).order_by(Pilot.id)).all()
            changes = [(p.enrolled_at, enrolment_event(p)) for p in pilots]
            changes += [(f.fitted_at, fitting_event(p, f)) for p in pilots for f in p.fittings]
        return [event for _, event in sorted(changes, key=lambda change: change[0])]

    def _find(self, session: Session, name: str) -> Pilot:
        pilot = session.scalar(select(Pilot).where(Pilot.name_key == name.strip().casefold()))
        if pilot is None:
            raise UnknownPilot(f"no pilot named {name!r}; enrol it first")
        return pilot


def outbox_event(event: dict[str, Any], stage: Stage) -> OutboxEvent:
    key, value = stage(event)
    return OutboxEvent(
        event_id=event["event_id"],
        event_type=event["event_type"],
        key=key,
        value=value,
        created_at=datetime.now(UTC),
    )


def enrolment_event(pilot: Pilot) -> dict[str, Any]:
    return {
        "event_type": "enrol_pilot",
        "event_id": pilot.event_id,
        "occurred_at": iso(pilot.enrolled_at),
        "user_id": pilot.player,
        "pilot": pilot.name,
        "allegiance": pilot.alliance,
        "ship": pilot.ship,
        "ship_cost": pilot.ship_cost,
    }


def fitting_event(pilot: Pilot, fitting: Fitting) -> dict[str, Any]:
    return {
        "event_type": "fit_ship",
        "event_id": fitting.event_id,
        "occurred_at": iso(fitting.fitted_at),
        "user_id": pilot.player,
        "pilot": pilot.name,
        **{weapon: getattr(fitting, weapon) for weapon in WEAPONS},
    }
