import random

from questlog.catalog import load_catalog
from questlog.traffic import EVENT_MIX, sample_events


def test_sample_events_are_valid_and_cover_the_game() -> None:
    events = sample_events(2000, random.Random(7))
    catalog = load_catalog()
    invalid = [e for e in events if not catalog[e["event_type"]].validator.is_valid(e)]
    assert not invalid, invalid[:3]
    assert {e["event_type"] for e in events} == set(EVENT_MIX)
    swords = sum(e["event_type"] == "purchase_sword" for e in events)
    peace = sum(e["event_type"] == "declare_peace" for e in events)
    assert swords > 3 * peace, "the mix weights the common events"
