"""How fast structured data is read from a large event page, by each candidate library.

Generates one listing page of ``--events`` events (default 500, about 1.5 MB with navigation,
scripts and styles): a third as JSON-LD blocks, a third as microdata, a third as h-event. Then
times, best of ``--repeat`` runs in this process:

* feedserver's adapter (``structured.parse``: extraction, mapping, de-duplication, events);
* extruct's ``extract`` with the three syntaxes, and its parts on their own;
* mf2py with each of its parsers (html5lib is its default);
* selectolax + ``json.loads`` of the JSON-LD scripts: the floor for JSON-LD alone.

Nothing is fetched; the page is built in memory. Run with ``.venv/bin/python
benchmarks/structured.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = (
    "learning data systems scaling privacy models training graph robotics energy quantum "
    "circuits wireless control networks vision language safety hardware sensing"
).split()


def generate(events: int, seed: int = 42) -> bytes:
    """A listing page as a university CMS writes it, ``events`` events in three syntaxes."""
    rnd = random.Random(seed)
    out = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Events</title>",
        "<script>" + "window.dataLayer.push({event:'view'});" * 1500 + "</script>",
        "<style>" + ".event-listing{margin:0 0 1rem}" * 1500 + "</style></head><body>",
        "<nav><ul>"
        + "".join(f'<li><a href="/dept/{i}">Department {i}</a></li>' for i in range(300))
        + "</ul></nav><main>",
    ]
    for i in range(events):
        title = " ".join(rnd.choice(WORDS) for _ in range(7)).capitalize()
        text = " ".join(rnd.choice(WORDS) for _ in range(220))
        day = f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
        start, end = f"{day}T14:00:00-07:00", f"{day}T15:00:00-07:00"
        if i % 3 == 0:
            node = {
                "@context": "https://schema.org",
                "@type": "EducationEvent",
                "@id": f"https://events.example.edu/event/{i}#event",
                "name": title,
                "startDate": start,
                "endDate": end,
                "location": {
                    "@type": "Place",
                    "name": "EEB 132",
                    "address": {"@type": "PostalAddress", "streetAddress": "3740 McClintock Ave"},
                },
                "performer": {"@type": "Person", "name": "Dr. Ada Lovelace", "jobTitle": "Fellow"},
                "description": f"<p>Abstract: {text}</p>",
                "url": f"https://events.example.edu/event/{i}",
            }
            out.append(
                f'<article><h2>{title}</h2><p>{text}</p><script type="application/ld+json">'
                f"{json.dumps(node)}</script></article>"
            )
        elif i % 3 == 1:
            out.append(
                f'<article itemscope itemtype="https://schema.org/Event"><h2 itemprop="name">'
                f'{title}</h2><time itemprop="startDate" datetime="{start}">2 pm</time>'
                f'<time itemprop="endDate" datetime="{end}">3 pm</time>'
                '<div itemprop="location" itemscope itemtype="https://schema.org/Place">'
                '<span itemprop="name">EEB 132</span></div>'
                f'<div itemprop="description"><p>{text}</p></div>'
                f'<a itemprop="url" href="/event/{i}">more</a></article>'
            )
        else:
            out.append(
                f'<article class="h-event"><h2 class="p-name">{title}</h2>'
                f'<time class="dt-start" datetime="{start}">2 pm</time>'
                f'<time class="dt-end" datetime="{end}">3 pm</time>'
                '<span class="p-location">EEB 132</span>'
                f'<div class="e-content"><p>{text}</p></div>'
                f'<a class="u-url" href="/event/{i}">more</a></article>'
            )
    out.append("</main><footer>" + "<p>Hillside University</p>" * 200 + "</footer></body></html>")
    return "".join(out).encode()


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    body = generate(args.events)
    text = body.decode()
    url = "https://events.example.edu/calendar/"

    began = time.perf_counter()
    import extruct
    import mf2py

    imported = time.perf_counter() - began
    import lxml.html
    from selectolax.lexbor import LexborHTMLParser

    from feedserver.config import Source
    from feedserver.sources import Pages, structured

    source = Source(id="bench", name="Bench", kind="html", calendar="c", url=url)

    def adapter() -> str:
        return f"{len(structured.parse(Pages.single(body, url), source).events)} events"

    def extruct_all() -> str:
        found = extruct.extract(
            body, base_url=url, syntaxes=["json-ld", "microdata", "microformat"], errors="log"
        )
        return ", ".join(f"{len(v)} {k}" for k, v in found.items())

    def lxml_tree() -> Any:
        return lxml.html.fromstring(text)

    def extruct_json_ld() -> str:
        return f"{len(extruct.JsonLdExtractor().extract_items(lxml_tree()))} items"

    def extruct_microdata() -> str:
        items = extruct.MicrodataExtractor().extract_items(lxml_tree(), base_url=url)
        return f"{len(items)} items"

    def mf2py_with(parser_name: str) -> Callable[[], str]:
        def run() -> str:
            items = mf2py.parse(doc=text, url=url, html_parser=parser_name)["items"]
            return f"{len(items)} items"

        return run

    def selectolax_json() -> str:
        scripts = LexborHTMLParser(body).css('script[type="application/ld+json"]')
        return f"{len([json.loads(s.text()) for s in scripts])} items"

    rows = [
        ("feedserver structured.parse (extruct + mf2py, mapping)", adapter, args.repeat),
        ("extruct.extract json-ld + microdata + microformat", extruct_all, args.repeat),
        ("lxml.html parse alone", lxml_tree, args.repeat),
        ("extruct JsonLdExtractor (incl. lxml parse)", extruct_json_ld, args.repeat),
        ("extruct MicrodataExtractor (incl. lxml parse)", extruct_microdata, args.repeat),
        ("mf2py, lxml parser", mf2py_with("lxml"), args.repeat),
        ("mf2py, html5lib parser (its default)", mf2py_with("html5lib"), 1),
        ("selectolax + json.loads (JSON-LD only)", selectolax_json, args.repeat),
    ]
    print(
        f"page: {len(body):,} bytes, {args.events} events; import extruct + mf2py: "
        f"{imported * 1000:.0f} ms"
    )
    print(f"| candidate | best of {args.repeat} | found |")
    print("| --- | ---: | --- |")
    for name, fn, repeat in rows:
        seconds, found = best(fn, repeat)
        print(f"| {name} | {seconds * 1000:.0f} ms | {found if isinstance(found, str) else ''} |")


if __name__ == "__main__":
    main()
