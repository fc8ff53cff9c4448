"""The registry's tables. A change here needs a migration in ``migrations/versions``;
tests/unit/registry/test_registry.py fails while the two disagree."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


def iso(moment: datetime) -> str:
    """A stored moment in RFC 3339; SQLite hands them back without their zone, UTC."""
    return moment.replace(tzinfo=moment.tzinfo or UTC).isoformat()


class Fitting(Base):
    __tablename__ = "fittings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilots.id"), index=True)
    missile_launchers: Mapped[int] = mapped_column(Integer)
    cannons: Mapped[int] = mapped_column(Integer)
    missiles: Mapped[int] = mapped_column(Integer)
    torpedoes: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(128))
    fitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def as_dict(self) -> dict[str, Any]:
        return {
            "missile_launchers": self.missile_launchers,
            "cannons": self.cannons,
            "missiles": self.missiles,
            "torpedoes": self.torpedoes,
            "event_id": self.event_id,
            "fitted_at": iso(self.fitted_at),
        }


class Pilot(Base):
    __tablename__ = "pilots"
    __table_args__ = (UniqueConstraint("name_key", name="uq_pilots_name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # The name case-folded: "Maverick" and "maverick" are the same pilot.
    name_key: Mapped[str] = mapped_column(String(64))
    alliance: Mapped[str] = mapped_column(String(64))
    ship: Mapped[str] = mapped_column(String(64))
    ship_cost: Mapped[int] = mapped_column(Integer)
    player: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(128))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    fittings: Mapped[list[Fitting]] = relationship(order_by=Fitting.id, lazy="selectin")

    def as_dict(self) -> dict[str, Any]:
        return {
            "pilot": self.name,
            "alliance": self.alliance,
            "ship": self.ship,
            "ship_cost": self.ship_cost,
            "player": self.player,
            "event_id": self.event_id,
            "enrolled_at": iso(self.enrolled_at),
            "fittings": [fitting.as_dict() for fitting in self.fittings],
        }


class WriteKey(Base):
    """A key that lets its holder post events. Only its SHA-256 digest is stored: the key is
    shown once, when it is created. An operator's key may also replay the registry."""

    __tablename__ = "write_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "operator": self.operator,
            "created_at": iso(self.created_at),
            "revoked_at": iso(self.revoked_at) if self.revoked_at else None,
        }


class OutboxEvent(Base):
    """An event a registry change emitted, stored in the change's own transaction and kept
    until the relay (relay.py) has it acknowledged by Kafka."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(64))
    # The Kafka record: its key (the user) and its value (the event's JSON, as published).
    key: Mapped[str] = mapped_column(String(256))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
