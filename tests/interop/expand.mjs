// Expand every VEVENT occurrence in an iCalendar file with ical.js (Mozilla's
// parser, the one Thunderbird uses) so tests/interop_parsers.py can compare it
// with the Python parsers.
//
// usage: node expand.mjs FILE START END
//   START, END: ISO 8601 UTC instants, e.g. 2025-01-01T00:00:00Z
// stdout: {"occurrences": [[uid, start], ...], "errors": [...]}
//   start is "YYYY-MM-DDTHH:MM:SSZ" for timed events and "YYYY-MM-DD" for
//   all-day events. An occurrence is reported when its start is in
//   [START, END); all-day dates and floating times are compared as if UTC.
//   "errors" lists problems ical.js silently papers over (an unresolved TZID
//   becomes floating time, an exception without its master, ...).
// exit status: 0 on success, 1 when the file cannot be parsed, 2 on bad usage.

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

// Safety net against a runaway RRULE; no feed we test needs this many
// instances before END.
const MAX_INSTANCES = 100000;

function usage(message) {
  process.stderr.write(`${message}\nusage: node expand.mjs FILE START END\n`);
  process.exit(2);
}

function parseInstant(text) {
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || !/(Z|[+-]00:?00)$/.test(text)) {
    usage(`not an ISO UTC instant: ${text}`);
  }
  return ms / 1000;
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

// Seconds since the epoch; DATE values and floating times count as UTC (the
// convention shared with the Python side).
function epoch(time) {
  if (time.isDate || time.zone === ICAL.Timezone.localTimezone) {
    return Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second) / 1000;
  }
  return time.toUnixTime();
}

function format(time) {
  if (time.isDate) {
    return `${pad(time.year, 4)}-${pad(time.month)}-${pad(time.day)}`;
  }
  const utc = time.zone === ICAL.Timezone.localTimezone ? time : time.convertToZone(ICAL.Timezone.utcTimezone);
  return (
    `${pad(utc.year, 4)}-${pad(utc.month)}-${pad(utc.day)}` +
    `T${pad(utc.hour)}:${pad(utc.minute)}:${pad(utc.second)}Z`
  );
}

function main() {
  const [file, startArg, endArg] = process.argv.slice(2);
  if (!file || !startArg || !endArg) {
    usage("missing argument");
  }
  const start = parseInstant(startArg);
  const end = parseInstant(endArg);

  let root;
  try {
    // fatal: a feed that is not strict UTF-8 is a bug, not something to guess at.
    const text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(file));
    root = new ICAL.Component(ICAL.parse(text));
  } catch (err) {
    process.stderr.write(`ical.js could not parse ${file}: ${err.message}\n`);
    process.exit(1);
  }
  if (root.name !== "vcalendar") {
    process.stderr.write(`ical.js: top-level component is ${root.name}, not VCALENDAR\n`);
    process.exit(1);
  }

  const errors = [];
  const occurrences = [];

  // RFC 5545 3.2.19: a TZID parameter names a VTIMEZONE in the same object.
  // Register the embedded definitions so ical.js never falls back to floating
  // time or to a zone registered by someone else.
  const tzids = new Set(["UTC", "Z", "GMT"]);
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    const zone = new ICAL.Timezone(vtimezone);
    ICAL.TimezoneService.register(zone);
    tzids.add(zone.tzid);
  }

  const masters = new Map();
  const exceptions = new Map();
  for (const vevent of root.getAllSubcomponents("vevent")) {
    for (const prop of vevent.getAllProperties()) {
      const tzid = prop.getParameter("tzid");
      if (tzid && !tzids.has(tzid)) {
        errors.push(`${prop.name.toUpperCase()} uses TZID ${tzid} which has no VTIMEZONE`);
      }
    }
    const uid = vevent.getFirstPropertyValue("uid");
    const bucket = vevent.hasProperty("recurrence-id") ? exceptions : masters;
    if (!bucket.has(uid)) {
      bucket.set(uid, []);
    }
    bucket.get(uid).push(vevent);
  }

  function consider(uid, time) {
    const at = epoch(time);
    if (at >= start && at < end) {
      occurrences.push([uid, format(time)]);
    }
  }

  for (const [uid, comps] of masters) {
    for (const comp of comps) {
      const event = new ICAL.Event(comp, { exceptions: [] });
      let latestShift = 0;
      let latestRecurrenceId = -Infinity;
      for (const exception of exceptions.get(uid) ?? []) {
        try {
          event.relateException(exception);
        } catch (err) {
          errors.push(`${uid}: cannot relate RECURRENCE-ID component: ${err.message}`);
          continue;
        }
        const related = new ICAL.Event(exception);
        latestShift = Math.max(latestShift, epoch(related.startDate) - epoch(related.recurrenceId));
        latestRecurrenceId = Math.max(latestRecurrenceId, epoch(related.recurrenceId));
      }

      if (!event.isRecurring()) {
        consider(uid, event.startDate);
        continue;
      }

      // An override may move an instance from after END into the range, so
      // keep expanding past END by the largest forward shift and at least up
      // to the last RECURRENCE-ID.
      const horizon = Math.max(end + latestShift, latestRecurrenceId + 1);
      const iterator = event.iterator();
      let count = 0;
      for (let next = iterator.next(); next; next = iterator.next()) {
        if (epoch(next) >= horizon) {
          break;
        }
        if (++count > MAX_INSTANCES) {
          errors.push(`${uid}: more than ${MAX_INSTANCES} instances before END, stopped`);
          break;
        }
        consider(uid, event.getOccurrenceDetails(next).startDate);
      }
    }
  }

  // RFC 5545 3.8.4.4 ties an override to its master by UID; one without a
  // master is an orphan that clients disagree about.
  for (const [uid, comps] of exceptions) {
    if (!masters.has(uid)) {
      errors.push(`${uid}: ${comps.length} RECURRENCE-ID component(s) without a master VEVENT`);
    }
  }

  occurrences.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  process.stdout.write(JSON.stringify({ occurrences, errors }) + "\n");
}

main();
