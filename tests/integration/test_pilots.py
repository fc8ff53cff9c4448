"""The pilot registry end to end on the local stack: its page in headless Chromium, the
``questlog pilots`` command, the original game's JSON routes; what each enrols lands in
Trino once. And the report's questions about pilots, on known pilots."""

import json
import os
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, sync_playwright
from questlog_catalog.fleets import FLEETS

from questlog.cli import main
from questlog.report import questions
from questlog.settings import Settings
from questlog.stack.probes import topic_ends
from questlog.traffic import key_headers, post_batch, wait_until_landed
from tests.helpers import read_topic, unique

Trino = Callable[[str], list[list[object]]]
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = Path(os.environ.get("QUESTLOG_CHROMIUM", "/usr/bin/chromium"))
# Headless on a machine without a display or outside network: no sandbox (root), no GPU,
# and none of Chromium's background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Share of pixels that may differ from the reference screenshot (font antialiasing).
SCREENSHOT_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium was not found at {CHROMIUM}; `make test-deps` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def assert_looks_like(png: bytes, reference: str, tmp_path: Path) -> None:
    """``png`` matches ``screenshots/<reference>`` (QUESTLOG_UPDATE_SCREENSHOTS=1 rewrites
    it); on a mismatch the screenshot and the difference are kept for a look."""
    path = SCREENSHOTS / reference
    if os.environ.get("QUESTLOG_UPDATE_SCREENSHOTS") == "1":
        path.write_bytes(png)
    actual, expected = Image.open(BytesIO(png)).convert("RGB"), Image.open(path).convert("RGB")
    assert actual.size == expected.size, f"{reference}: {actual.size} != {expected.size}"
    difference = ImageChops.difference(actual, expected)
    changed = sum(1 for pixel in difference.get_flattened_data() if max(pixel) > 48)
    share = changed / (actual.width * actual.height)
    if share > SCREENSHOT_TOLERANCE:
        actual.save(tmp_path / f"actual-{reference}")
        difference.save(tmp_path / f"difference-{reference}")
        pytest.fail(f"{reference}: {share:.1%} of pixels differ; see {tmp_path}")


def rows_when_landed(trino: Trino, sql: str, rows: int, timeout: float = 120) -> list[list[Any]]:
    """The rows ``sql`` gives once it gives ``rows`` of them (the stream lands every 10 s)."""
    seen, waited = wait_until_landed(lambda: len(trino(sql)), rows, timeout, poll=2)
    assert seen >= rows, f"{seen} of {rows} rows after {waited:.0f} s: {sql}"
    return trino(sql)


def test_enrolment_through_the_page_in_headless_chromium(
    stack: Settings, trino: Trino, browser: Browser, tmp_path: Path
) -> None:
    name, player = unique("Page"), "page-player"
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{stack.api.url}/pilots")
    assert_looks_like(page.locator("#enrol").screenshot(), "pilot-form.png", tmp_path)

    page.select_option("#alliance", "Free Traders")
    offered = page.eval_on_selector(
        "#ship", "s => [...s.options].filter(o => !o.parentElement.disabled).map(o => o.value)"
    )
    assert offered == list(FLEETS["Free Traders"]), "only the alliance's fleet is offered"
    page.fill("#pilot", name)
    page.fill("#player", player)
    page.select_option("#ship", "Blockade Runner")
    page.click("button[type=submit]")

    assert page.locator(".notice").inner_text() == f"Pilot {name} enrolled."
    row = page.locator("#pilots tbody tr", has_text=name)
    cells = row.locator("td").all_inner_texts()
    assert cells[:6] == [name, "Free Traders", "Blockade Runner", "6,800", player, "none"]
    masked = [row.locator("td.name"), row.locator("td.enrolled")]  # they change every run
    assert_looks_like(row.screenshot(mask=masked), "pilot-row.png", tmp_path)

    page.fill("#pilot", name.upper())
    page.fill("#player", player)
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == (
        f"a pilot named '{name.upper()}' already exists; choose another name"
    )
    assert page.locator("#pilot").input_value() == name.upper(), "the form keeps what was typed"
    assert page.locator("#pilots tbody tr", has_text=name).count() == 1
    page.close()

    landed = rows_when_landed(
        trino,
        "SELECT pilot, allegiance, ship, ship_cost, user_id, user_agent "
        f"FROM hive.default.pilot_enrolments WHERE pilot = '{name}'",
        rows=1,
    )
    assert landed[0][:5] == [name, "Free Traders", "Blockade Runner", 6800, player]
    assert "Chrome" in landed[0][5], "the browser's User-Agent is kept"


def test_the_command_line_enrols_fits_lists_and_replays(
    stack: Settings, trino: Trino, capsys: pytest.CaptureFixture[str]
) -> None:
    name, player = unique("Cli"), unique("cli-player")
    before = topic_ends(stack.kafka.bootstrap, "events")
    create = ["pilots", "create", name, "--alliance", "Empire", "--ship", "Dreadnought"]
    assert main([*create, "--player", player]) == 0
    assert f"Enrolled {name}: Dreadnought of the Empire fleet, 30,000 credits" in (
        capsys.readouterr().out
    )
    assert main(["pilots", "create", name.lower(), "--alliance", "Empire", "--ship", "X"]) == 1
    assert "422: the Empire fleet has no ship 'X'" in capsys.readouterr().err
    assert (
        main(["pilots", "create", name.lower(), "--alliance", "Empire", "--ship", "Destroyer"]) == 1
    )
    assert f"409: a pilot named '{name.lower()}' already exists" in capsys.readouterr().err
    assert main(["pilots", "fit", name, "--cannons", "6", "--torpedoes", "4"]) == 0
    assert f"Fitted {name}'s Dreadnought: 0 missile launchers, 6 cannons" in capsys.readouterr().out
    assert main(["pilots", "list", "--limit", "3"]) == 0
    listed = capsys.readouterr().out
    assert name in listed and "30000" in listed
    assert main(["pilots", "replay"]) == 0
    assert "Replayed" in capsys.readouterr().out

    published = [
        json.loads(v)
        for k, v in read_topic(stack.kafka.bootstrap, "events", since=before)
        if k == player
    ]
    ids = {
        t: [r["event_id"] for r in published if r["event_type"] == t]
        for t in ("enrol_pilot", "fit_ship")
    }
    assert len(ids["enrol_pilot"]) == len(ids["fit_ship"]) == 2, "each event, then its replay"
    assert len(set(ids["enrol_pilot"])) == len(set(ids["fit_ship"])) == 1, "with its own id"

    # A last event of the player's lands after the replays (one partition, in order): once
    # it is in Trino, the replays have been through the stream, which dropped them.
    marker = {"event_type": "default", "user_id": player}
    assert post_batch(stack.api.url, [marker], "questlog-tests") == 1
    rows_when_landed(
        trino, f"SELECT 1 FROM hive.default.default_events WHERE user_id = '{player}'", 1
    )
    assert trino(
        f"SELECT count(*), pilot, ship_cost FROM hive.default.pilot_enrolments "
        f"WHERE user_id = '{player}' GROUP BY pilot, ship_cost"
    ) == [[1, name, 30_000]]
    assert trino(
        "SELECT count(*), pilot, missile_launchers, cannons, missiles, torpedoes "
        f"FROM hive.default.ship_fittings WHERE user_id = '{player}' GROUP BY 2, 3, 4, 5, 6"
    ) == [[1, name, 0, 6, 0, 4]]


def test_the_original_json_routes_go_through_the_registry(stack: Settings) -> None:
    name, player = unique("Route"), unique("route-player")
    with httpx.Client(base_url=stack.api.url, headers=key_headers()) as http:
        chosen = {"pilot": name, "allegiance": "Federation", "ship": "Carrier"}
        enrolled = http.post("/Enrol_pilot", params={"user_id": player}, json=chosen)
        assert (enrolled.status_code, enrolled.text) == (200, "Pilot enrolled!\n")
        again = http.post("/Enrol_pilot", json={"pilot": name})
        assert again.status_code == 409
        assert (
            again.json()["detail"] == f"a pilot named '{name}' already exists; choose another name"
        )
        overpriced = http.post(
            "/Enrol_pilot", json={**chosen, "pilot": unique("X"), "ship_cost": 1}
        )
        assert (overpriced.status_code, overpriced.json()["detail"]) == (
            422,
            "ship_cost: a Carrier of the Federation fleet costs 24000",
        )
        not_a_name = http.post("/Enrol_pilot", json={"pilot": 5})
        assert (not_a_name.status_code, not_a_name.json()["detail"]) == (
            422,
            "pilot: 5 is not of type 'string'",
        )
        weapons = {"missile_launchers": 1, "cannons": 8, "missiles": 12, "torpedoes": 0}
        fitted = http.post("/Fit_ship", json={"pilot": name, **weapons})
        assert (fitted.status_code, fitted.text) == (200, "Ship fitted!\n")
        unknown = http.post("/Fit_ship", json={"pilot": unique("Nobody")})
        assert unknown.status_code == 404 and "enrol it first" in unknown.json()["detail"]
        assert http.get("/Fit_ship").status_code == 200, "the original anonymous fitting works"
        pilots = http.get("/v1/pilots", params={"limit": 20}).json()["pilots"]
    [mine] = [p for p in pilots if p["pilot"] == name]
    assert (mine["ship_cost"], mine["player"]) == (24_000, player)
    assert [{k: f[k] for k in weapons} for f in mine["fittings"]] == [weapons]


def test_the_report_answers_the_space_game_questions(stack: Settings, trino: Trino) -> None:
    """The report's own SQL, on this test's pilots only."""
    prefix = unique("report-player")
    enrolments = [
        ("Free Traders", "Shuttle"),
        ("Free Traders", "Shuttle"),
        ("Free Traders", "Shuttle"),
        ("Empire", "Dreadnought"),
        ("Federation", "Carrier"),
        ("Federation", "Corvette"),
    ]
    with httpx.Client(base_url=stack.api.url, headers=key_headers()) as http:
        for number, (alliance, ship) in enumerate(enrolments):
            enrolment = {"pilot": unique("R"), "alliance": alliance, "ship": ship}
            assert (
                http.post(
                    "/v1/pilots", json={**enrolment, "player": f"{prefix}-{number % 2}"}
                ).status_code
                == 201
            )
    mine = f"(SELECT * FROM hive.default.pilot_enrolments WHERE user_id LIKE '{prefix}%')"
    report = {
        n: sql.replace("hive.default.pilot_enrolments", mine) for n, (_, sql) in questions().items()
    }
    rows_when_landed(trino, f"SELECT * FROM {mine}", len(enrolments))

    assert trino(report["05_ships"]) == [
        ["Shuttle", "Free Traders", 3, 400],
        ["Carrier", "Federation", 1, 24_000],
        ["Corvette", "Federation", 1, 1_200],
        ["Dreadnought", "Empire", 1, 30_000],
    ]
    assert trino(report["06_alliances"]) == [
        ["Free Traders", 3, 2],
        ["Federation", 2, 2],
        ["Empire", 1, 1],
    ]
    assert [row[0] for row in trino(report["07_most_expensive_ships"])] == [
        "Dreadnought",
        "Carrier",
        "Corvette",
        "Shuttle",
    ]
