"""Screenshots of the dashboard for the docs: ``docs/attribution.png`` and ``docs/journey.png``.

    python scripts/screenshots.py [--seed 7] [--visitors 2000] [--out docs]

Builds the default demo database (as ``utmost demo`` does) in a temporary folder, serves the
app on 127.0.0.1, signs in through the sign-in page with Debian's Chromium, and saves
full-page PNGs 1280 pixels wide: the attribution page's default question (first touch, last
touch and linear) and the journey of a person who signed in on two devices and whose booking
the campaigns of both devices share.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import uvicorn
from playwright.sync_api import sync_playwright

from utmost import demo
from utmost.store import SpendFile, Store, import_spend
from utmost.store.importer import import_files
from utmost.web import create_app
from utmost.web.api import options_of
from utmost.web.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CONVERSION = "Reservation Completed"


def build(folder: Path, seed: int, visitors: int) -> tuple[Store, str]:
    """The demo's store (events and spend), and the secret of its project (known only as it is created)."""
    export = folder / "demo-export.jsonl"
    with open(export, "wb") as file:
        file.writelines(demo.generate_lines(seed=seed, visitors=visitors))
    store = Store(folder / "demo.duckdb")
    project = store.project()
    import_files(store, project.name, [export], strict=True)
    spend = SpendFile("demo-spend.csv", demo.generate_spend(seed=seed, visitors=visitors))
    import_spend(store, project.name, [spend], strict=True)  # as `utmost demo` does: money columns
    return store, project.secret


@contextmanager
def serving(store: Store) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def two_device_person(store: Store, candidates: int = 60) -> str:
    """A booker with two devices whose counted touchpoints came from both, several campaigns best."""
    users = store.reader().execute(
        "SELECT user_id FROM events WHERE project = ? AND user_id IS NOT NULL GROUP BY user_id "
        "HAVING count(DISTINCT device_id) >= 2 AND count(*) FILTER (WHERE event = ?) > 0 ORDER BY user_id LIMIT ?",
        [store.project().name, CONVERSION, candidates],
    ).fetchall()
    service = Service(store)
    options = options_of({"conversion": CONVERSION, "models": "first_touch,last_touch,linear"}, store.project().name)
    best, best_score = users[0][0], (-1,)
    for (user,) in users:
        found = service.journey(options, user)
        events = found.events.to_pylist()
        device = {(e["time"], e["session"]): e["id"] for e in events if e["touch"] == "touchpoint"}
        counted = [t for t in found.touches.to_pylist() if t["status"] == "counted"]
        score = (len({device.get((t["time"], t["session"])) for t in counted}),
                 len({t["utm_source"] for t in counted}), -found.sessions.num_rows)
        if score > best_score and found.sessions.num_rows <= 5:
            best, best_score = user, score
    return best


def shoot(url: str, secret: str, person: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/signin")
        page.get_by_label("Project secret").fill(secret)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/attribution?*")
        page.screenshot(path=out / "attribution.png", full_page=True)
        page.goto(f"{url}/journey?id={quote(person)}&conversion={quote(CONVERSION)}"
                  "&models=first_touch,last_touch,linear,time_decay,markov")
        page.screenshot(path=out / "journey.png", full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--visitors", type=int, default=2_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        store, secret = build(Path(folder), args.seed, args.visitors)
        try:
            person = two_device_person(store)
            with serving(store) as url:
                shoot(url, secret, person, args.out)
        finally:
            store.close()
    print(f"wrote {args.out / 'attribution.png'} and {args.out / 'journey.png'} (journey of {person})")


if __name__ == "__main__":
    main()
