import random

from questlog.demo import EVENT_MIX, sample_events


def test_sample_events_cover_the_game_with_unique_ids() -> None:
    events = sample_events(2000, random.Random(7))
    assert len({e["event_id"] for e in events}) == 2000
    assert {e["event_type"] for e in events} == set(EVENT_MIX)
    swords = sum(e["event_type"] == "purchase_sword" for e in events)
    peace = sum(e["event_type"] == "declare_peace" for e in events)
    assert swords > 3 * peace, "the mix weights the common events"
