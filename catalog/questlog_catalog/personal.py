"""Personal data, as the catalog marks it (``x-questlog-personal``), is never published in
clear: a hashed field keeps an HMAC-SHA256 token of its value, keyed with the stack's
``personal_data_key`` (so the same value gives the same token, and without the key no one
can test a guess); a dropped field is removed. With no key configured, hashed fields are
dropped too. The ingest API applies it to each record and dead letter, and the pilot
registry to the events of its changes, before they are published."""

from typing import Any

from questlog_catalog import EventType, personal_anywhere, personal_token


class PersonalData:
    def __init__(self, key: str, catalog: dict[str, EventType]) -> None:
        self.key = key.encode() or None
        self.of_unknown_types = personal_anywhere(catalog)
        if self.key is None and self.of_unknown_types.get("user_id") == "hash":
            # Dropped, user_id would leave events with no key nor user: refuse to start.
            raise ValueError("the catalog hashes user_id: set QUESTLOG__PERSONAL_DATA_KEY")

    def protect(self, event: dict[str, Any], marked: dict[str, str]) -> dict[str, Any]:
        """``event`` with its ``marked`` fields hashed or dropped (a copy, when any is)."""
        if not marked or not marked.keys() & event.keys():
            return event
        kept = dict(event)
        for field, treatment in marked.items():
            value = kept.get(field)
            if value is None:
                continue
            if treatment == "hash" and self.key is not None and isinstance(value, str):
                kept[field] = personal_token(self.key, value)
            else:
                del kept[field]
        return kept

    def protect_raw(self, raw: Any, catalog: dict[str, EventType]) -> Any:
        """An event refused as invalid, as sent: its type's marks when that is known, else
        every field any type marks."""
        if not isinstance(raw, dict):
            return raw
        claimed = raw.get("event_type")
        known = catalog.get(claimed) if isinstance(claimed, str) else None
        return self.protect(raw, known.personal if known else self.of_unknown_types)
