"""Tests for feedserver.links: meeting links found in (and stripped from) real-world event text.

Every input is shaped like what sources deliver: Zoom, Teams, Meet, Webex and Jitsi invitations,
CMS HTML, Outlook plain text, and the seed page's flattened lines (verbatim), where a URL runs into
the next field's label. Each row states the exact outcome.
"""

from __future__ import annotations

import random
import re
from urllib.parse import urlsplit

import pytest

from feedserver import links
from feedserver.links import LABELS, find_meeting_links, strip_meeting_details

ZOOM_INVITE = """Hillside Seminars is inviting you to a scheduled Zoom meeting.

Topic: Hillside Reading Group
Time: Oct 31, 2026 02:00 PM Pacific Time (US and Canada)

Join Zoom Meeting
https://us02web.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1

Meeting ID: 986 4850 7063
Passcode: 123456

---

One tap mobile
+16699006833,,98648507063#,,,,*123456# US (San Jose)
+12532158782,,98648507063#,,,,*123456# US (Tacoma)

---

Dial by your location
\u2022 +1 669 900 6833 US (San Jose)
\u2022 +1 253 215 8782 US (Tacoma)

Meeting ID: 986 4850 7063
Passcode: 123456

Find your local number: https://us02web.zoom.us/u/kb2XyZ

---

Join by SIP
\u2022 98648507063@zoomcrc.com

---

Join by H.323
\u2022 162.255.37.11 (US West)
\u2022 162.255.36.11 (US East)
"""
WEBINAR = """Hi there,

You are invited to a Zoom webinar.
When: Oct 31, 2026 02:00 PM Pacific Time (US and Canada)
Topic: Hillside Colloquium

Please click the link below to join the webinar:
https://hillside.zoom.us/w/91234567890?tk=AbC-dEf_GhI.DQgAAAAVPxyz&pwd=ZmFrZVBhc3N3b3Jk.1
Passcode: Hs2026
Or One tap mobile :
    +16699006833,,91234567890#,,,,*428193# US (San Jose)
Or Telephone:
    Dial(for higher quality, dial a number based on your current location):
    +1 669 900 6833 US (San Jose)
Webinar ID: 912 3456 7890
Passcode: 428193
    International numbers available: https://hillside.zoom.us/u/kdXyZ
"""
TEAMS_URL = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NmE4ZTYxZjQtYjY3Ny00ZjI2LWI4NmEtOWY5ZTQ0YzU4YjBh%40thread.v2/0"
    "?context=%7b%22Tid%22%3a%2211111111-2222-3333-4444-555555555555%22%2c%22Oid%22%3a%22aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee%22%7d"
)
TEAMS_OLD = f"""Please join us online.

________________________________________________________________________________
Microsoft Teams meeting
Join on your computer, mobile app or room device
Click here to join the meeting<{TEAMS_URL}>
Meeting ID: 123 456 789 012
Passcode: abc123
Download Teams<https://www.microsoft.com/en-us/microsoft-teams/download-app> | Join on the web<https://www.microsoft.com/microsoft-teams/join-a-meeting>
Or call in (audio only)
+1 323-555-0100,,123456789#<tel:+13235550100,,123456789#>   United States, Los Angeles
Phone Conference ID: 123 456 789#
Find a local number<https://dialin.teams.microsoft.com/aaaa?id=123456789> | Reset PIN<https://dialin.teams.microsoft.com/usp/pstnconferencing>
Learn More<https://aka.ms/JoinTeamsMeeting> | Meeting options<https://teams.microsoft.com/meetingOptions/?organizerId=aaaa&tenantId=1111>
________________________________________________________________________________
"""
TEAMS_NEW = """Quarterly review, agenda attached.
________________________________________________________________________________
Microsoft Teams Need help?<https://aka.ms/JoinTeamsMeeting?omkt=en-US>
Join the meeting now<https://teams.microsoft.com/meet/231476587921?p=Gkk8WBGhx5bFfJu4QQ>
Meeting ID: 231 476 587 921
Passcode: Ab3xY9
________________________________
Dial in by phone
+1 323-555-0100,,987654321#<tel:+13235550100,,987654321#> United States, Los Angeles
Find a local number<https://dialin.teams.microsoft.com/bbbb?id=987654321>
Phone conference ID: 987 654 321#
For organizers: Meeting options<https://aka.ms/mo> | Reset dial-in PIN<https://aka.ms/rp>
________________________________________________________________________________
"""
MEET = """Lab sync.

-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-
Join with Google Meet: https://meet.google.com/abc-defg-hij

Join by phone
(US) +1 234-567-8900 PIN: 123 456 789#

More phone numbers: https://tel.meet/abc-defg-hij?pin=123456789

Learn more about Meet at: https://support.google.com/a/users/answer/9282720

Please do not edit this section of the description.
-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-
"""
WEBEX = """Hillside Lab Meeting
Hosted by Pat Example

Join meeting
https://hillside.webex.com/hillside/j.php?MTID=m0123456789abcdef0123456789abcdef

Meeting number (access code): 2634 123 4567
Meeting password: AbC12dEf

Join by phone
+1-415-655-0001 US Toll
+1-844-555-0100 US Toll Free

Join by video system
Dial 26341234567@hillside.webex.com
"""
JITSI = """Join the meeting: https://meet.jit.si/HillsideReadingGroup

To join by phone instead, tap this: +1.512.647.1431,,1234567890#
"""
# Verbatim from the seed event page: the flattened page glues the URL to "Location:".
SEED = (
    "Webcast: https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1"
    "Location: Hughes Aircraft Electrical Engineering Center (EEB) - 132\n"
    "WebCast Link: https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1\n"
    "Audiences: Everyone Is Invited"
)
CMS = (
    '<p><strong>Webcast:</strong> <a href="https://hillside.zoom.us/j/91234567890'
    '?pwd=Zm9vYmFyYmF6cXV4.1&amp;from=addon">Join</a></p><p>Passcode: 775511</p>'
    "<p>Location: EEB 132</p><p>Abstract: We study &quot;scaling&quot; laws.</p>"
)
MANY = """Event page: https://hillside.example/events/2026/colloquium
Slides: https://hillside.example/slides/colloquium.pdf
Register: https://forms.hillside.example/r/colloquium?src=cal
Livestream: https://www.youtube.com/live/AbCdEfGhIjK?si=xyz
Paper (https://arxiv.org/abs/2401.00001)."""
ZOOM_PWD = "https://hillside.zoom.us/j/91234567890?pwd=Zm9vYmFy.1"
TEAMS_MEET = "https://teams.microsoft.com/meet/231476587921?p=Gkk8WBGhx5bFfJu4QQ"
SEED_URL = "https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1"
ZOOM_ID = "912 3456 7890"

FIND = [
    (
        "zoom-invitation",
        (ZOOM_INVITE,),
        [
            (
                "https://us02web.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1",
                "zoom",
                "986 4850 7063",
                "123456",
                "+16699006833,,98648507063#,,,,*123456# US (San Jose)",
            )
        ],
    ),
    (
        "zoom-dial-by-location",
        (
            "Join Zoom Meeting\nhttps://hillside.zoom.us/j/2134567890\n\nMeeting ID: 213 456 7890\n"
            "Password: 4Xr9\n\nDial by your location\n        +1 669 900 6833 US (San Jose)\n",
        ),
        [
            (
                "https://hillside.zoom.us/j/2134567890",
                "zoom",
                "213 456 7890",
                "4Xr9",
                "+1 669 900 6833 US (San Jose)",
            )
        ],
    ),
    (
        "zoom-webinar",
        (WEBINAR,),
        [
            (
                "https://hillside.zoom.us/w/91234567890?tk=AbC-dEf_GhI.DQgAAAAVPxyz"
                "&pwd=ZmFrZVBhc3N3b3Jk.1",
                "zoom",
                ZOOM_ID,
                "Hs2026",
                "+16699006833,,91234567890#,,,,*428193# US (San Jose)",
            )
        ],
    ),
    (
        "zoom-webinar-registration",
        ("Register in advance:\nhttps://hillside.zoom.us/webinar/register/WN_aBcDeFgHiJkLmNo\n",),
        [
            (
                "https://hillside.zoom.us/webinar/register/WN_aBcDeFgHiJkLmNo",
                "zoom",
                None,
                None,
                None,
            )
        ],
    ),
    (
        "zoom-flattened-page",
        (f"Join Zoom Meeting{ZOOM_PWD}Meeting ID: 912 3456 7890Passcode: 775511Location: EEB",),
        [(ZOOM_PWD, "zoom", ZOOM_ID, "775511", None)],
    ),
    (
        "zoom-details-before-link",
        (
            "Meeting ID: 912 3456 7890\nPasscode: 775511\nJoin: https://hillside.zoom.us/j/91234567890",
        ),
        [("https://hillside.zoom.us/j/91234567890", "zoom", ZOOM_ID, "775511", None)],
    ),
    (
        "zoom-details-of-another-meeting",
        ("Meeting ID: 111 2222 3333\nPasscode: 000000\nhttps://hillside.zoom.us/j/91234567890",),
        [("https://hillside.zoom.us/j/91234567890", "zoom", ZOOM_ID, None, None)],
    ),
    (
        "zoom-start-link-loses-to-join-link",
        (
            "https://hillside.zoom.us/s/91234567890?zak=eyJ0eXAiOiJKV1QifQ.x "
            "and https://hillside.zoom.us/j/91234567890",
        ),
        [("https://hillside.zoom.us/j/91234567890", "zoom", ZOOM_ID, None, None)],
    ),
    (
        "zoom-personal-and-gov",
        ("Link: <https://hillside.zoom.us/my/hillside.lab>, or https://zoomgov.com/j/1601234567",),
        [
            ("https://hillside.zoom.us/my/hillside.lab", "zoom", None, None, None),
            ("https://zoomgov.com/j/1601234567", "zoom", "160 123 4567", None, None),
        ],
    ),
    (
        "teams-meetup-join",
        (TEAMS_OLD,),
        [
            (
                TEAMS_URL,
                "teams",
                "123 456 789 012",
                "abc123",
                "+1 323-555-0100,,123456789# United States, Los Angeles",
            )
        ],
    ),
    (
        "teams-meet",
        (TEAMS_NEW,),
        [
            (
                TEAMS_MEET,
                "teams",
                "231 476 587 921",
                "Ab3xY9",
                "+1 323-555-0100,,987654321# United States, Los Angeles",
            )
        ],
    ),
    (
        "teams-glued-after-context",
        (f"Join the meeting now{TEAMS_URL}Meeting ID: 123 456 789 012",),
        [(TEAMS_URL, "teams", "123 456 789 012", None, None)],
    ),
    (
        "teams-context-shown-decoded",
        (
            "Join: https://teams.microsoft.com/l/meetup-join/19:meeting_NmE4@thread.v2/0"
            '?context={"Tid":"1111-22","Oid":"aaaa-bb"}\nMeeting ID: 123 456 789 012',
        ),
        [
            (
                "https://teams.microsoft.com/l/meetup-join/19:meeting_NmE4@thread.v2/0"
                "?context=%7b%22Tid%22:%221111-22%22,%22Oid%22:%22aaaa-bb%22%7d",
                "teams",
                "123 456 789 012",
                None,
                None,
            )
        ],
    ),
    (
        "google-meet",
        (MEET,),
        [
            (
                "https://meet.google.com/abc-defg-hij",
                "meet",
                "abc-defg-hij",
                None,
                "(US) +1 234-567-8900 PIN: 123 456 789#",
            )
        ],
    ),
    (
        "webex",
        (WEBEX,),
        [
            (
                "https://hillside.webex.com/hillside/j.php?MTID=m0123456789abcdef0123456789abcdef",
                "webex",
                "2634 123 4567",
                "AbC12dEf",
                "+1-415-655-0001 US Toll",
            )
        ],
    ),
    (
        "webex-personal-room",
        ("Webex: https://hillside.webex.com/meet/pat.example.",),
        [("https://hillside.webex.com/meet/pat.example", "webex", None, None, None)],
    ),
    (
        "jitsi",
        (JITSI, "Backup: https://8x8.vc/vpaas-magic-cookie-0123/HillsideRoom"),
        [
            (
                "https://meet.jit.si/HillsideReadingGroup",
                "jitsi",
                None,
                None,
                "+1.512.647.1431,,1234567890#",
            ),
            ("https://8x8.vc/vpaas-magic-cookie-0123/HillsideRoom", "jitsi", None, None, None),
        ],
    ),
    ("seed-page", (SEED,), [(SEED_URL, "zoom", "986 4850 7063", None, None)]),
    (
        "cms-html",
        (CMS,),
        [
            (
                "https://hillside.zoom.us/j/91234567890?pwd=Zm9vYmFyYmF6cXV4.1&from=addon",
                "zoom",
                ZOOM_ID,
                "775511",
                None,
            )
        ],
    ),
    (
        "html-anchor-text-is-the-url",
        (
            '<p><a href="https://meet.google.com/abc-defg-hij">'
            "https://meet.google.com/abc-defg-hij</a></p>",
        ),
        [("https://meet.google.com/abc-defg-hij", "meet", "abc-defg-hij", None, None)],
    ),
    (
        "only-the-labelled-stream",
        (MANY,),
        [("https://www.youtube.com/live/AbCdEfGhIjK?si=xyz", "webcast", None, None, None)],
    ),
    (
        "brackets-and-punctuation",
        (
            "Join us on Zoom (https://hillside.zoom.us/j/91234567890).",
            "[Join](https://meet.google.com/abc-defg-hij)",
            "Online: https://hillside.example/stream/Talk_(2026)).",
            f'"{ZOOM_PWD}";',
            "Virtual: https://hillside.example/live?room=eeb132&amp;view=full.",
            "WEBCAST: http://hillside.example/live/eeb133!",
        ),
        [
            (ZOOM_PWD, "zoom", ZOOM_ID, None, None),
            ("https://meet.google.com/abc-defg-hij", "meet", "abc-defg-hij", None, None),
            ("https://hillside.example/stream/Talk_(2026)", "webcast", None, None, None),
            ("https://hillside.example/live?room=eeb132&view=full", "webcast", None, None, None),
            ("http://hillside.example/live/eeb133", "webcast", None, None, None),
        ],
    ),
    (
        "http-and-schemeless-upgraded",
        (
            "Zoom: http://hillside.zoom.us/j/91234567890!",
            "Dial in at meet.google.com/xyz-abcd-efg?",
        ),
        [
            ("https://hillside.zoom.us/j/91234567890", "zoom", ZOOM_ID, None, None),
            ("https://meet.google.com/xyz-abcd-efg", "meet", "xyz-abcd-efg", None, None),
        ],
    ),
    (
        "one-meeting-in-four-properties",
        (
            "Join: https://hillside.zoom.us/j/91234567890",
            "https://us06web.zoom.us/j/91234567890?pwd=Zm9vYmFy.1",
            f"{ZOOM_PWD}&from=addon",
            f'<a href="{ZOOM_PWD}&amp;from=addon">{ZOOM_PWD}&amp;from=addon</a>',
        ),
        [(f"{ZOOM_PWD}&from=addon", "zoom", ZOOM_ID, None, None)],
    ),
    (
        "zoom-talk-and-teams-backup",
        (f"Zoom: https://hillside.zoom.us/j/91234567890\nBackup: {TEAMS_MEET}\nPasscode: Ab3xY9",),
        [
            ("https://hillside.zoom.us/j/91234567890", "zoom", ZOOM_ID, None, None),
            (TEAMS_MEET, "teams", "231 476 587 921", "Ab3xY9", None),
        ],
    ),
    (
        "redirect-wrappers",
        (
            "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fhillside.zoom.us"
            "%2Fj%2F91234567890%3Fpwd%3DZm9vYmFy.1&data=05%7C02%7C&sdata=abc%3D&reserved=0",
            "Meet: https://www.google.com/url?q=https://meet.google.com/abc-defg-hij&sa=D&usg=AOv",
        ),
        [
            (ZOOM_PWD, "zoom", ZOOM_ID, None, None),
            ("https://meet.google.com/abc-defg-hij", "meet", "abc-defg-hij", None, None),
        ],
    ),
    (
        "glued-urls-and-a-path-colon",
        (
            "Event: https://hillside.example/eventhttps://hillside.zoom.us/j/91234567890",
            "Livestream: https://hillside.example/wiki/Talk:Seminars",
        ),
        [
            ("https://hillside.zoom.us/j/91234567890", "zoom", ZOOM_ID, None, None),
            ("https://hillside.example/wiki/Talk:Seminars", "webcast", None, None, None),
        ],
    ),
    (
        "not-meeting-details",
        (
            "Livestream: https://hillside.example/live\nGuest Wi-Fi password: hillside2026",
            "Zoom: https://hillside.zoom.us/j/91234567890\nQuestions? Phone: +1 213 555 0100",
        ),
        [
            ("https://hillside.example/live", "webcast", None, None, None),
            ("https://hillside.zoom.us/j/91234567890", "zoom", ZOOM_ID, None, None),
        ],
    ),
    (
        "not-meetings",
        (
            "Recording of last year's talk: https://www.youtube.com/watch?v=AbCdEfGhIjK",
            "Registration online: https://forms.hillside.example/r/1",
            "Find your local number: https://hillside.zoom.us/u/kb2XyZ https://zoom.us/download",
            "Seminar in EEB 132. Coffee at 3 pm.",
        ),
        [],
    ),
]


@pytest.mark.parametrize(("texts", "expected"), [pytest.param(*row[1:], id=row[0]) for row in FIND])
def test_find_meeting_links(texts: tuple[str, ...], expected: list[tuple]) -> None:
    links = find_meeting_links(*texts)
    assert [(x.url, x.provider, x.meeting_id, x.passcode, x.dial_in) for x in links] == expected
    for link, row in zip(links, expected, strict=True):
        parts, want = urlsplit(link.url), urlsplit(row[0])
        assert parts.geturl() == link.url  # parses back unchanged: nothing was mangled
        assert (parts.hostname, parts.path) == (want.hostname, want.path)
        assert link.label == LABELS[link.provider]


ABSTRACT = "Abstract: We study scaling laws for downstream tasks.\n\n"
STRIP = [
    (
        "zoom-invitation",
        ABSTRACT + ZOOM_INVITE,
        ABSTRACT + "Hillside Seminars is inviting you to a scheduled Zoom meeting.\n\n"
        "Topic: Hillside Reading Group\nTime: Oct 31, 2026 02:00 PM Pacific Time (US and Canada)",
    ),
    (
        "seed-page",
        SEED,
        "Location: Hughes Aircraft Electrical Engineering Center (EEB) - 132\n"
        "Audiences: Everyone Is Invited",
    ),
    ("teams", TEAMS_OLD, "Please join us online."),
    ("meet", MEET, "Lab sync."),
    ("webex", WEBEX, "Hillside Lab Meeting\nHosted by Pat Example"),
    ("cms-html", CMS, 'Location: EEB 132\n\nAbstract: We study "scaling" laws.'),
    (
        "inline",
        "Join us on Zoom (https://hillside.zoom.us/j/91234567890). Slides: https://hillside.example/s",
        "Join us on Zoom. Slides: https://hillside.example/s",
    ),
    (
        "nothing-to-strip",
        "Seminar in EEB 132.\nPassword: on the door",
        "Seminar in EEB 132.\nPassword: on the door",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(*row[1:], id=row[0]) for row in STRIP])
def test_strip_meeting_details(text: str, expected: str) -> None:
    links = find_meeting_links(text)
    stripped = strip_meeting_details(text, links)
    assert stripped == expected
    for secret in [s for x in links for s in (x.url, x.passcode, x.dial_in, x.meeting_id) if s]:
        assert secret not in stripped


# --- shortcuts: the same results as the plain scans ---------------------------------------------

# re's IGNORECASE matches these with ASCII letters (İ ı ſ K): the shortcuts must see them too.
FOLDS = ["\u0130", "\u0131", "\u017f", "\u212a"]


def test_url_runs_are_the_regular_expression_matches() -> None:
    pieces = [
        "https://",
        "HTTP://",
        "://",
        "zoom.us/",
        "ZOOM.US/",
        "us02web.zoom.us/j/123",
        "8x8.vc/x",
    ]
    pieces += ["teams.microsoft.com/l/x", "meet.google.com/abc-defg-hij", "webex.com/meet/x"]
    pieces += ["meet.jit.si/Room", "zoomgov.com/j/1", "a.b-c.", "x", " ", "\n", ".", "@", "/", "-"]
    pieces += ["é", "日本", "Zoom: ", "(", ")", "<", "&amp;", "zoom.us", ".us/", "sub.", *FOLDS]
    rng = random.Random(42)
    for _ in range(20000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 10)))
        expected = [m.span() for m in links._URL_RUN.finditer(text)]
        assert [m.span() for m in links._url_runs(text)] == expected, repr(text)


def test_meeting_details_shortcuts_find_what_every_search_finds() -> None:
    def reference(region: str, target: links._Target) -> tuple[str | None, ...]:
        found = links._MEETING_ID.search(region)
        text_id = " ".join(re.split(r"[ \t\u00a0]+", found[1])) if found else None
        if text_id and target.meeting_id:
            if re.sub(r"\D", "", text_id) != re.sub(r"\D", "", target.meeting_id):
                return None, None, None
        codes = (links._passcode_value(m, region) for m in links._passcodes(region))
        passcode = next((v for v in codes if v is not None), None)
        dial_in = next((v for v in links._dial_lines(region.split("\n")) if v), None)
        return text_id, passcode, dial_in

    pieces = ["Meeting ID: 986 4850 7063", "webinar id: 1", "Access code: 12", "Passcode: 123456"]
    pieces += ["Password: abc", "pass code: x", "Wi-Fi password: y", "\n", " ", "One tap mobile"]
    pieces += [
        "+16699006833,,98648507063#",
        "+1 669 900 6833 US (San Jose)",
        "Dial by your location",
    ]
    pieces += ["Call-in: +1 213 555 0100", "by phone", "Telephone:", "audio only", "text", "é"]
    pieces += ["MEET\u0130NG ID: 5", "pa\u017f\u017fcode: 1", "Contact: +1 213 555 0100", *FOLDS]
    pieces += ["Or dial: (US) +1 617-675-4444 PIN: 123 456 789#", "+", "12345678"]
    targets = [links._classify(url) for url in ("https://zoom.us/j/98648507063", "https://x.edu/")]
    rng = random.Random(42)
    for _ in range(20000):
        region = "".join(rng.choices(pieces, k=rng.randint(0, 8)))
        for target in targets:
            assert target is not None
            assert links._details(region, target) == reference(region, target), repr(region)
