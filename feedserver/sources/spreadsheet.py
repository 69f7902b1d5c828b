"""Stage ①: the ``csv`` kind: events from a spreadsheet export, by a column mapping.

Excel, Google Sheets, LibreOffice and Numbers all save CSV, each its own way: Excel writes a
byte-order mark ("CSV UTF-8"), Windows-1252 ("CSV (Comma delimited)") or UTF-16 with tabs
("Unicode Text"), semicolons where the comma is the decimal sign, dates as the locale shows them
(``10/31/2024``, ``31.10.2024``) or as serial numbers (``45596``); a title row often sits above
the header. The source's ``[csv]`` table maps event fields to column headers
(``[csv.columns]``); the delimiter is detected unless given, and the header row is the first row
that has every mapped column.

A mapped column missing from the file fails the source (naming the column and listing the
headers found; its last good events stay); a row without a title or a readable date is skipped
with a warning naming its row number (as the spreadsheet numbers it) and the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from feedserver.config import Source, suggest
from feedserver.errors import ParseError
from feedserver.sources import Pages, Parsed, values
from feedserver.sources.bridge import Item, events
from feedserver.sources.records import (
    FIELDS,
    Skip,
    identity,
    item,
    last_day,
    timed_end,
    whole_days,
)

__all__ = ["CSV_FIELDS", "KEYS", "check", "parse"]

KEYS = {
    "columns": "table: event field -> column header (a list of headers: their cells joined)",
    "formats": 'strptime patterns tried first for dates, e.g. ["%d/%m/%Y"]',
    "dayfirst": "true: 05/11/2024 is 5 November (default: the US order, month first)",
    "delimiter": 'the character between cells, e.g. ";" (default: detected)',
    "encoding": 'the file\'s encoding (default "utf-8-sig": UTF-8, with or without a BOM)',
    "separator": 'characters that split a categories cell into several (default ";")',
}
CSV_FIELDS = {
    **FIELDS,
    "date": "the start's date when the time is in its own column (instead of start)",
    "start_time": "the start's time of day: 14:00, 2:00 PM, 0.583333 (Excel)",
    "end_date": "the last day, when the end's time is in its own column (instead of end)",
    "end_time": "the end's time of day; on the start's date unless end/end_date is given",
}
_ALIASES = {"date": "start", "end_date": "end"}  # the same cell, named as a sheet names it
_JOIN = {"description": "\n\n", "categories": "\n"}
_DELIMITERS = ",;\t|"
_HEADER_ROWS = 10
_T = TypeVar("_T")  # a title row and blank rows above the header are common in Excel exports


@dataclass(frozen=True)
class _Mapping:
    columns: dict[str, tuple[str, ...]]  # event field -> headers
    names: dict[str, str]  # event field -> the key the table used (date for start…)
    formats: tuple[str, ...]
    dayfirst: bool
    delimiter: str | None
    encoding: str | None
    separator: str


def _mapping(table: Mapping[str, Any]) -> _Mapping:
    columns: dict[str, tuple[str, ...]] = {}
    names: dict[str, str] = {}
    for key, headers in (table.get("columns") or {}).items():
        heads = (headers,) if isinstance(headers, str) else tuple(headers)
        columns[_ALIASES.get(key, key)] = tuple(h for h in heads if h.strip())
        names[_ALIASES.get(key, key)] = key
    return _Mapping(
        columns={k: v for k, v in columns.items() if v},
        names=names,
        formats=tuple(table.get("formats", ())),
        dayfirst=bool(table.get("dayfirst", False)),
        delimiter=table.get("delimiter"),
        encoding=table.get("encoding"),
        separator=table.get("separator", ";"),
    )


def check(table: Mapping[str, Any]) -> list[str]:
    """Problems with a ``[csv]`` table, each starting with the key it is about."""
    problems = [f"{k}: unknown key{suggest(k, KEYS)}" for k in table if k not in KEYS]
    columns = table.get("columns")
    if not isinstance(columns, dict) or not columns:
        return [*problems, 'columns: required: a table of event field = "Column header"']
    for key, headers in columns.items():
        if key not in CSV_FIELDS:
            problems.append(
                f"columns.{key}: unknown event field{suggest(key, CSV_FIELDS)};"
                f" known: {', '.join(CSV_FIELDS)}"
            )
        elif not (
            isinstance(headers, str)
            or isinstance(headers, list)
            and headers
            and all(isinstance(h, str) for h in headers)
        ):
            problems.append(f"columns.{key}: expected a column header or a list of them")
    for one, other in _ALIASES.items():
        if one in columns and other in columns:
            problems.append(f"columns.{one}: give either {one} or {other}, not both")
    if "title" not in columns:
        problems.append("columns.title: required: the column of the event's title")
    if "start" not in columns and "date" not in columns:
        problems.append("columns.start: required: the column of the start (or date)")
    if "end_time" in columns and "start_time" not in columns and "date" in columns:
        problems.append("columns.end_time: needs start_time: a date column alone is all-day")
    formats = table.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        problems.append('formats: expected a list of strptime patterns, e.g. ["%d/%m/%Y"]')
    if not isinstance(table.get("dayfirst", False), bool):
        problems.append("dayfirst: must be true or false")
    delimiter = table.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        problems.append(
            f'delimiter: expected one character such as ";" or "\\t", got {delimiter!r}'
        )
    encoding = table.get("encoding")
    if encoding is not None:
        try:
            "".encode(str(encoding))
        except LookupError:
            problems.append(f"encoding: unknown encoding {encoding!r} (e.g. utf-8, cp1252)")
    separator = table.get("separator", ";")
    if not isinstance(separator, str):
        problems.append(f'separator: expected characters such as ";", got {separator!r}')
    return problems


def parse(pages: Pages, source: Source) -> Parsed:
    """The events of a CSV export, one per row, in the file's order."""
    mapping = _mapping(source.options)
    result = Parsed()
    text = _decode(pages.body, mapping, result.warnings)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), _dialect(text, mapping)))
    except csv.Error as e:
        # A quote that is opened and never closed swallows the rest of the file into one cell.
        hint = '; is a quote (") opened and never closed?' if "field limit" in str(e) else ""
        raise ParseError(f"not readable as CSV: {e}{hint}") from None
    header_at, index = _header(rows, mapping)
    found: list[Item] = []
    seen: dict[tuple[str, str], str] = {}  # identity -> the row that had it first
    seps = mapping.separator + "\n"  # several category columns are joined by line breaks
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(cell.strip() for cell in row):
            continue
        raw = {
            key: _JOIN.get(key, ", ").join(c for c in (_cell(row, index[h]) for h in heads) if c)
            for key, heads in mapping.columns.items()
        }
        if not raw.get("title") and not raw.get("start"):
            continue  # a spacer or a footer row ("Total: 12"), not an event
        name = f"row {number}" + (f" ({raw['title']!r})" if raw.get("title") else "")
        try:
            start, end = _when(raw, mapping, source, name, result.warnings)
            one = item(raw, start, end, name=name, warnings=result.warnings, separators=seps)
        except Skip as e:
            result.warnings.append(f"{name} skipped: {e}")
            continue
        first = seen.setdefault(identity(one, source), name)
        if first != name:
            result.warnings.append(f"{name} skipped: the same event as {first}")
            continue
        found.append(one)
    result.events = events(found, source)
    return result


def _decode(body: bytes, mapping: _Mapping, warnings: list[str]) -> str:
    if body.startswith(b"PK\x03\x04"):
        raise ParseError("an Excel workbook (.xlsx), not CSV: save or export it as CSV")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16")  # Excel's "Unicode Text": UTF-16 with a BOM, tabs
    encoding = mapping.encoding or "utf-8-sig"
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as e:
        where = f"byte {body[e.start]:#04x} at offset {e.start}"
        if mapping.encoding:
            raise ParseError(f"not {encoding} text: {where}") from None
        warnings.append(
            f"not UTF-8 ({where}): read as Windows-1252, the encoding of Excel's"
            ' "CSV (Comma delimited)"; set csv.encoding to say which it is'
        )
        text = body.decode("cp1252", errors="replace")
    head = text.lstrip()[:200]
    if not head:
        raise ParseError("empty file: expected a CSV export with a header row")
    if head.startswith("<") and head[:15].casefold().startswith(("<!doctype", "<html", "<?xml")):
        raise ParseError(
            f"not CSV but HTML or XML: it starts with {head.splitlines()[0][:40]!r}"
            " (a Google Sheets link must be its File → Share → Publish to web → CSV link)"
        )
    return text


def _dialect(text: str, mapping: _Mapping) -> type[csv.Dialect] | csv.Dialect:
    if mapping.delimiter:
        return _with(mapping.delimiter)
    sample = text[:65536]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        return _with(sniffed.delimiter)
    except csv.Error:
        # One column, or too few lines for the sniffer: the most frequent candidate on the
        # first line wins, else a comma.
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return _with(best if counts[best] else ",")


def _with(delimiter: str) -> csv.Dialect:
    class Export(csv.excel):
        pass

    Export.delimiter = delimiter
    return Export()


def _norm(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").split()).casefold()


def _header(rows: list[list[str]], mapping: _Mapping) -> tuple[int, dict[str, int]]:
    """The header row's index and header → column index; ParseError naming what is missing."""
    wanted = {h for heads in mapping.columns.values() for h in heads}
    best: tuple[int, int, dict[str, int]] | None = None
    for at, row in enumerate(rows[:_HEADER_ROWS]):
        positions: dict[str, int] = {}
        for column, header in enumerate(row):
            positions.setdefault(_norm(header), column)
        index = {h: positions[_norm(h)] for h in wanted if _norm(h) in positions}
        if len(index) == len(wanted):
            return at, index
        if best is None or len(index) > best[1]:
            best = (at, len(index), index)
    if best is None:
        raise ParseError("empty file: expected a CSV export with a header row")
    at, _, index = best
    found = ", ".join(repr(h.strip()) for h in rows[at] if h.strip()) or "nothing"
    missing = [
        f"columns.{key} = {h!r}"
        for key, heads in mapping.columns.items()
        for h in heads
        if h not in index
    ]
    raise ParseError(
        f"column(s) not found: {'; '.join(missing)}; the header (row {at + 1}) has {found}"
    )


def _cell(row: list[str], column: int) -> str:
    # A line break inside a cell comes as CRLF from Excel, LF from Google Sheets.
    return row[column].replace("\r\n", "\n").strip() if column < len(row) else ""


def _when(
    raw: dict[str, str], mapping: _Mapping, source: Source, name: str, warnings: list[str]
) -> tuple[datetime | date, datetime | date | None]:
    """A row's start and exclusive end from start/date, end/end_date and the time columns."""
    zone = values.Zone.of(source)
    if raw.get("timezone"):
        try:
            zone = values.zone_named(raw["timezone"])
        except ValueError as e:
            warnings.append(f"{name}: timezone: {e}; using the source's")
    options: dict[str, Any] = {"formats": mapping.formats, "dayfirst": mapping.dayfirst}
    start_key, end_key = mapping.names.get("start", "start"), mapping.names.get("end", "end")
    if not raw.get("start"):
        raise Skip(f"{start_key}: empty")
    start: datetime | date
    end: datetime | date | None = None
    if raw.get("start_time"):
        first = _read(start_key, values.day, raw["start"], **options)
        start = zone.combine(first, _read("start_time", values.clock, raw["start_time"]))
    else:
        start, end = _read(start_key, values.moment, raw["start"], zone, **options)
    try:
        if raw.get("end") and raw.get("end_time"):
            last = _read(end_key, values.day, raw["end"], **options)
            end = zone.combine(last, _read("end_time", values.clock, raw["end_time"]))
        elif raw.get("end"):
            end = last_day(_read(end_key, values.moment, raw["end"], zone, **options)[0])
        elif raw.get("end_time") and isinstance(start, datetime):
            clock = _read("end_time", values.clock, raw["end_time"])
            end = start.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
            if end < start:
                end += timedelta(days=1)  # "10:00 PM" to "1:00 AM" ends the next day
    except Skip as e:
        warnings.append(f"{name}: {e}; the event keeps its start only")
        end = None
    all_day = False
    if raw.get("all_day"):
        try:
            all_day = values.flag(raw["all_day"])
        except ValueError as e:
            warnings.append(f"{name}: all_day: {e}")
    if all_day or not isinstance(start, datetime):
        first = start.date() if isinstance(start, datetime) else start
        if isinstance(end, datetime) and not raw.get("end_time"):
            end = last_day(end.date())  # an all-day row's end date is its last day
        return whole_days(first, end)
    return timed_end(start, end, f"{name}: {end_key}", warnings)


def _read(key: str, reader: Callable[..., _T], *args: Any, **options: Any) -> _T:
    """``reader(*args)``, its ValueError as a Skip naming ``key``."""
    try:
        return reader(*args, **options)
    except ValueError as e:
        raise Skip(f"{key}: {e}") from None
