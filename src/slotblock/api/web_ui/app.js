// The web week view of slotblock: blocked time of one calendar, user or group, shaped by
// hand. It speaks only the public API (the calls the README documents), with the location
// token kept in this tab's session storage and sent as `Authorization`.
//
// Signing in with the admin token instead: the page lists the locations (`/_admin/locations`)
// and mints a token of the one picked (`/_admin/locations/{id}/tokens`, expiring after 12
// hours), then forgets the admin token: it is held in a variable for those two calls only,
// never stored.
//
// Times: FullCalendar runs in UTC and is given wall-clock times of the location's zone
// (the API answers in that zone; its offset is dropped), so every box sits at its local
// time whatever the browser's zone. Writes turn a wall-clock time back into an instant with
// the zone's offset at that instant (Intl), so a DST week is right on both sides.
"use strict";

(function () {
  const VERSION = "2021-07-28";
  const ROOT = new URL("../", window.location.href); // the API beside /ui/
  const DAY = 86400000;
  const MINTED_NAME = "web view (admin sign-in)";
  // A minted token lasts a working day, then is refused (sign in again) and deleted: signing
  // in does not pile up live tokens.
  const MINTED_EXPIRES_IN = 12 * 3600;
  const MINTED_SCOPES = [
    "calendars/events.readonly", "calendars/events.write", "calendars.readonly",
    "calendars/groups.readonly", "locations.readonly",
  ];
  const FREE_SLOT_DAYS = 31; // the API's free-slots window
  const session = window.sessionStorage;
  const $ = (id) => document.getElementById(id);

  const state = {
    token: session.getItem("slotblock.token") || "",
    locationId: session.getItem("slotblock.location") || "",
    zone: "", // the location's, read from get-location at each sign-in
    locationName: "",
    target: session.getItem("slotblock.target") || "",
    calendars: [],
    groups: [],
    showFree: false,
    calendar: null,
    busy: 0,
  };

  // --- the location's zone ------------------------------------------------------------

  function zoneParts(zone, ms) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    const parts = {};
    for (const part of format.formatToParts(new Date(ms))) parts[part.type] = Number(part.value);
    return parts;
  }

  /** Minutes east of UTC in `zone` at the instant `ms`. */
  function offsetMinutes(zone, ms) {
    const p = zoneParts(zone, ms);
    const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
  }

  /** The instant of a wall-clock time of `zone` (given as UTC milliseconds). */
  function wallToInstant(zone, wallMs) {
    let instant = wallMs - offsetMinutes(zone, wallMs) * 60000;
    const second = offsetMinutes(zone, instant);
    if (wallMs - second * 60000 !== instant) instant = wallMs - second * 60000;
    return instant;
  }

  function offsetText(minutes) {
    const sign = minutes < 0 ? "-" : "+";
    const abs = Math.abs(minutes);
    return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  }

  /** ISO 8601 of an instant, written in `zone` with its offset there. */
  function isoInZone(zone, ms) {
    const offset = offsetMinutes(zone, ms);
    return new Date(ms + offset * 60000).toISOString().slice(0, 19) + offsetText(offset);
  }

  const wallOf = (iso) => iso.slice(0, 19); // the API writes the location's wall clock
  const wallNow = () => new Date(Date.now() + offsetMinutes(state.zone, Date.now()) * 60000);

  function isZone(zone) {
    if (typeof zone !== "string" || !zone) return false;
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return true;
    } catch (_) {
      return false;
    }
  }

  /** A problem of the page's own (not an API answer), said as it is. */
  class PageError extends Error {}

  // --- the API --------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      const message = body && body.message;
      super(Array.isArray(message) ? message.join("; ") : String(message || ""));
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  function setBusy(delta) {
    state.busy += delta;
    document.body.dataset.busy = String(state.busy);
    $("loading").hidden = state.busy === 0;
  }

  /** An answer's JSON, or its first words when it is not JSON (a proxy's error page). */
  function parsed(text) {
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (_) {
      return { message: text.slice(0, 200) };
    }
  }

  async function api(method, path, options = {}) {
    const url = new URL(path.replace(/^\//, ""), ROOT);
    for (const [name, value] of Object.entries(options.query || {})) {
      for (const one of [].concat(value)) url.searchParams.append(name, String(one));
    }
    const headers = { Authorization: `Bearer ${options.token || state.token}`, Version: VERSION };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.ifMatch) headers["If-Match"] = options.ifMatch;
    setBusy(1);
    try {
      const response = await fetch(url, {
        method, headers, cache: "no-store", credentials: "omit",
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const body = parsed(await response.text());
      if (!response.ok) throw new ApiError(response.status, body, response.headers.get("Retry-After"));
      return { body, etag: response.headers.get("ETag") };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(0, { message: `the server could not be reached (${error.message})` });
    } finally {
      setBusy(-1);
    }
  }

  /** An API error in words. */
  function explain(error) {
    const detail = error.message ? `: ${error.message}` : "";
    switch (error.status) {
      case 0: return `No answer${detail}.`;
      case 400: return `The request was refused as malformed (400)${detail}.`;
      case 401: return `The token was refused (401)${detail}. Sign in again.`;
      case 403: return `This token may not use that location (403)${detail}.`;
      case 404: return `Not found (404)${detail}; it may have been deleted elsewhere. The view was reloaded.`;
      case 409: return `Conflict (409)${detail}. Nothing was changed; the view was reloaded.`;
      case 412: return "This block was changed elsewhere since you opened it (412): nothing was overwritten. The view was reloaded; open the block again to edit its current version.";
      case 422: return `The change was refused (422)${detail}.`;
      case 429: return `Too many requests (429): try again in ${error.retryAfter || "a few"} seconds.`;
      default: return `The server answered ${error.status}${detail}.`;
    }
  }

  function say(text, kind) {
    const message = $("message");
    message.textContent = text;
    message.className = `message ${kind || ""}`;
  }

  /** A sign-in problem in words. */
  const said = (problem) => (problem instanceof ApiError ? explain(problem) : problem.message);

  function fail(error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) { backToSignIn(error); return; }
    say(explain(error), "error");
    if (state.calendar) state.calendar.refetchEvents();
  }

  /** A token refused after signing in (revoked, expired): sign in again. */
  function backToSignIn(error) {
    session.removeItem("slotblock.token");
    state.token = "";
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    $("app").hidden = true;
    $("pick").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = explain(error);
    $("token").value = "";
    $("token").focus();
  }

  // --- signing in -------------------------------------------------------------------------

  function prefill() {
    const hash = new URLSearchParams(window.location.hash.slice(1));
    $("location").value = state.locationId || hash.get("location") || "";
    $("token").value = "";
  }

  /** The location's name and zone (get-location): the view shows its times in that zone. */
  async function loadLocation() {
    const answer = await api("GET", `/locations/${encodeURIComponent(state.locationId)}`);
    const location = (answer.body && answer.body.location) || {};
    if (!isZone(location.timezone)) {
      throw new PageError(`The location's zone "${location.timezone}" is not one this browser knows.`);
    }
    state.zone = location.timezone;
    state.locationName = location.name || state.locationId;
  }

  /** Into the view with a location token, or the reason why not (in `error`). */
  async function enter(token, locationId, error) {
    Object.assign(state, { token, locationId });
    try {
      await loadLocation();
      await loadTargets();
    } catch (problem) {
      if (!(problem instanceof ApiError || problem instanceof PageError)) throw problem;
      state.token = "";
      error.textContent = said(problem);
      return false;
    }
    session.setItem("slotblock.token", token);
    session.setItem("slotblock.location", locationId);
    showApp();
    return true;
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $("token").value.trim();
    const locationId = $("location").value.trim();
    const error = $("signin-error");
    error.textContent = "";
    if (!token) { error.textContent = "A token is needed."; return; }
    // A location token is `pit-…`; anything else may be the admin token (an OAuth access
    // token of a location is neither: tried as the admin token first, it is refused there).
    if (!token.startsWith("pit-") && await signInAsAdmin(token, error)) return;
    if (!locationId) {
      error.textContent = "This is not the admin token (or the admin API is off): a location token needs the location id.";
      return;
    }
    await enter(token, locationId, error);
  }

  // --- signing in with the admin token: pick a location ---------------------------------

  let adminToken = ""; // between the admin sign-in and the pick only; never stored

  /** True when `token` opened the admin API (the picker is shown), or it said why not. */
  async function signInAsAdmin(token, error) {
    let answer;
    try {
      answer = await api("GET", "/_admin/locations", { token });
    } catch (problem) {
      if (!(problem instanceof ApiError)) throw problem;
      if (problem.status === 401 || problem.status === 404) return false; // not the admin's
      error.textContent = explain(problem);
      return true;
    }
    showPicker(token, answer.body.locations || []);
    return true;
  }

  function showPicker(token, locations) {
    adminToken = token;
    $("token").value = "";
    const wanted = $("location").value.trim();
    const labels = locations.map((l) => option(l.id, `${l.name || l.id} (${l.timezone}) — ${l.id}`));
    $("pick-location").replaceChildren(...labels);
    if (locations.some((l) => l.id === wanted)) $("pick-location").value = wanted;
    $("pick-error").textContent = locations.length ? "" : "There is no location yet (slotblock location create, or a fixture).";
    $("pick-button").disabled = !locations.length;
    $("signin").hidden = true;
    $("pick").hidden = false;
    $("pick-location").focus();
  }

  function leavePicker() {
    adminToken = "";
    $("pick").hidden = true;
    $("signin").hidden = false;
    $("token").focus();
  }

  /** A token of the picked location, minted with the admin token; then the admin token is
   * forgotten and the page goes on with the location token alone. */
  async function pickLocation(event) {
    event.preventDefault();
    const locationId = $("pick-location").value;
    const error = $("pick-error");
    error.textContent = "";
    let minted;
    try {
      const path = `/_admin/locations/${encodeURIComponent(locationId)}/tokens`;
      minted = await api("POST", path, { token: adminToken, body: { name: MINTED_NAME, scopes: MINTED_SCOPES, expiresIn: MINTED_EXPIRES_IN } });
    } catch (problem) {
      if (!(problem instanceof ApiError)) throw problem;
      error.textContent = explain(problem);
      return;
    }
    adminToken = "";
    $("pick").hidden = true;
    $("location").value = locationId;
    if (!await enter(minted.body.token, locationId, $("signin-error"))) $("signin").hidden = false;
  }

  function signOut() {
    for (const key of ["token", "location", "target"]) session.removeItem(`slotblock.${key}`);
    window.location.reload();
  }

  // --- what the token may see -----------------------------------------------------------

  async function loadTargets() {
    const calendars = await api("GET", "/calendars/", { query: { locationId: state.locationId } });
    state.calendars = calendars.body.calendars || [];
    try {
      const groups = await api("GET", "/calendars/groups", { query: { locationId: state.locationId } });
      state.groups = groups.body.groups || [];
    } catch (problem) {
      if (!(problem instanceof ApiError) || problem.status !== 401) throw problem;
      state.groups = []; // a token without the groups scope sees no groups
    }
  }

  function userIds() {
    const ids = new Set();
    for (const calendar of state.calendars) {
      for (const member of calendar.teamMembers || []) ids.add(member.userId);
    }
    return [...ids].sort();
  }

  function option(value, label) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = label;
    return element;
  }

  function fillTargets() {
    const select = $("target");
    select.replaceChildren();
    const groups = [
      ["Calendars", state.calendars.map((c) => option(`calendar:${c.id}`, c.name || c.id))],
      ["Users", userIds().map((id) => option(`user:${id}`, `user ${id}`))],
      ["Groups", state.groups.map((g) => option(`group:${g.id}`, g.name || g.id))],
    ];
    for (const [label, options] of groups) {
      if (!options.length) continue;
      const group = document.createElement("optgroup");
      group.label = label;
      group.append(...options);
      select.append(group);
    }
    const values = [...select.options].map((o) => o.value);
    state.target = values.includes(state.target) ? state.target : values[0] || "";
    select.value = state.target;
  }

  function target() {
    const [kind, id] = state.target.split(":");
    return { kind, id };
  }

  function currentCalendar() {
    const { kind, id } = target();
    return kind === "calendar" ? state.calendars.find((c) => c.id === id) : undefined;
  }

  // --- opening hours: weekly (openHours) and custom dates (availabilities) -------------

  /** A day's ranges as [open, close] minutes after midnight; a close not after the open is
   * on the next day (as the free slots count it: 22:00-02:00 runs overnight). */
  function minuteRanges(hours) {
    const ranges = [];
    for (const range of Array.isArray(hours) ? hours : []) {
      const open = (Number(range.openHour) || 0) * 60 + (Number(range.openMinute) || 0);
      let close = (Number(range.closeHour) || 0) * 60 + (Number(range.closeMinute) || 0);
      if (close <= open) close += 1440;
      ranges.push([open, close]);
    }
    return ranges;
  }

  /** What the calendar says of its hours: weekly by weekday (0 = Sunday), custom by date. */
  function openingOf(calendar) {
    const weekly = new Map();
    const custom = new Map();
    for (const rule of Array.isArray(calendar.openHours) ? calendar.openHours : []) {
      for (const day of rule.daysOfTheWeek || []) {
        weekly.set(day, (weekly.get(day) || []).concat(minuteRanges(rule.hours)));
      }
    }
    for (const entry of Array.isArray(calendar.availabilities) ? calendar.availabilities : []) {
      if (entry.deleted === true || typeof entry.date !== "string") continue;
      const day = entry.date.slice(0, 10); // `<local date>T00:00:00.000Z`
      custom.set(day, (custom.get(day) || []).concat(minuteRanges(entry.hours)));
    }
    // availabilityType 0: weekly hours only; 1: custom dates only; else a custom date
    // replaces that date's weekly hours (a custom date without hours is a day off)
    const kind = calendar.availabilityType;
    return { weekly: kind === 1 ? new Map() : weekly, custom: kind === 0 ? new Map() : custom };
  }

  /** The open intervals (wall-clock ms) of the local days from `startWall` to `endWall`,
   * with the day before (its overnight ranges reach into the first day). */
  function openIntervals(opening, startWall, endWall) {
    const open = [];
    for (let day = startWall - DAY; day < endWall; day += DAY) {
      const date = new Date(day).toISOString().slice(0, 10);
      const ranges = opening.custom.has(date) ? opening.custom.get(date) : opening.weekly.get(new Date(day).getUTCDay()) || [];
      for (const [from, to] of ranges) open.push([day + from * 60000, day + to * 60000]);
    }
    return open.sort((a, b) => a[0] - b[0]);
  }

  /** Closed time shaded as background boxes, one a day at most per gap (so each sits in its
   * day's column); in the month view only the days closed all day. None for a calendar
   * that declares no hours at all. */
  function closedBoxes(startWall, endWall) {
    const calendar = currentCalendar();
    if (!calendar) return [];
    const opening = openingOf(calendar);
    if (!opening.weekly.size && !opening.custom.size) return [];
    const open = openIntervals(opening, startWall, endWall);
    const month = state.calendar && state.calendar.view.type === "dayGridMonth";
    const boxes = [];
    for (let day = startWall; day < endWall; day += DAY) {
      let cursor = day;
      const gaps = [];
      for (const [from, to] of open) {
        if (to <= cursor || from >= day + DAY) continue;
        if (from > cursor) gaps.push([cursor, from]);
        cursor = Math.max(cursor, to);
      }
      if (cursor < day + DAY) gaps.push([cursor, day + DAY]);
      if (month) {
        if (gaps.length === 1 && gaps[0][1] - gaps[0][0] === DAY) {
          boxes.push({ start: day, allDay: true, display: "background", classNames: ["sb-closed"], extendedProps: { closed: "all day" } });
        }
        continue;
      }
      for (const [from, to] of gaps) {
        const label = `${wallTime(from, day)}-${wallTime(to, day)}`;
        boxes.push({ start: from, end: to, display: "background", classNames: ["sb-closed"], extendedProps: { closed: label } });
      }
    }
    return boxes;
  }

  /** "HH:MM" of a wall-clock instant of `day` ("24:00" at the next midnight). */
  function wallTime(ms, day) {
    if (ms - day === DAY) return "24:00";
    return new Date(ms).toISOString().slice(11, 16);
  }

  /** The zone and its offset over the shown range (both offsets when it crosses a change). */
  function showZone(startMs = Date.now(), endMs = startMs + 1) {
    const first = offsetMinutes(state.zone, startMs);
    const last = offsetMinutes(state.zone, endMs - 1);
    const offsets = first === last ? offsetText(first) : `${offsetText(first)} → ${offsetText(last)}`;
    $("zone-label").textContent = `Times in ${state.zone} (UTC${offsets})`;
    $("location-name").textContent = state.locationName;
  }

  // --- reading blocked time ---------------------------------------------------------------

  function toBox(dto) {
    const classes = [dto.masterEventId ? "sb-instance" : "sb-one-off"];
    if (dto.assignedUserId) classes.push("sb-user-block");
    return {
      id: dto.id, title: dto.title || "(blocked)", start: wallOf(dto.startTime),
      end: wallOf(dto.endTime), classNames: classes, extendedProps: { dto },
    };
  }

  async function blockedTime(startMs, endMs) {
    const { kind, id } = target();
    const query = { locationId: state.locationId, startTime: startMs, endTime: endMs };
    query[`${kind}Id`] = id;
    const answer = await api("GET", "/calendars/blocked-slots", { query });
    return (answer.body.events || []).map(toBox);
  }

  function slotLength(calendar) {
    const length = Number(calendar.slotDuration) || 30;
    return calendar.slotDurationUnit === "hours" ? length * 3600000 : length * 60000;
  }

  async function freeSlots(startMs, endMs) {
    const calendar = currentCalendar();
    if (!state.showFree || !calendar) return [];
    const end = Math.min(endMs, startMs + FREE_SLOT_DAYS * DAY);
    const answer = await api("GET", `/calendars/${encodeURIComponent(calendar.id)}/free-slots`, {
      query: { startDate: startMs, endDate: end },
    });
    const length = slotLength(calendar);
    const boxes = [];
    for (const day of Object.values(answer.body || {})) {
      for (const slot of (day && day.slots) || []) {
        const wall = Date.parse(`${wallOf(slot)}Z`);
        boxes.push({ start: wall, end: wall + length, display: "background", classNames: ["sb-free"], extendedProps: { free: true } });
      }
    }
    return boxes;
  }

  async function loadEvents(info, success, failure) {
    if (!state.target) { success([]); return; }
    const startMs = wallToInstant(state.zone, info.start.getTime());
    const endMs = wallToInstant(state.zone, info.end.getTime());
    showZone(startMs, endMs);
    try {
      const [blocks, free] = await Promise.all([blockedTime(startMs, endMs), freeSlots(startMs, endMs)]);
      success(blocks.concat(free, closedBoxes(info.start.getTime(), info.end.getTime())));
    } catch (problem) {
      if (!(problem instanceof ApiError)) throw problem;
      failure(problem);
      if (problem.status === 401) backToSignIn(problem);
      else say(explain(problem), "error");
    }
  }

  // --- writing blocked time ---------------------------------------------------------------

  const instantOf = (date) => wallToInstant(state.zone, date.getTime());
  const isoOf = (date) => isoInZone(state.zone, instantOf(date));
  const getBlock = (id) => api("GET", `/calendars/events/block-slots/${encodeURIComponent(id)}`);

  function owner() {
    const { kind, id } = target();
    if (kind === "calendar") return { calendarId: id };
    if (kind === "user") return { assignedUserId: id };
    return null;
  }

  async function create(fields) {
    const body = Object.assign({ locationId: state.locationId }, owner(), fields);
    await api("POST", "/calendars/events/block-slots", { body });
    say(`Created "${fields.title || "(blocked)"}".`, "ok");
    state.calendar.refetchEvents();
  }

  async function onSelect(selection) {
    state.calendar.unselect();
    if (!owner()) { say("Pick a calendar or a user to create a block (a group's blocks belong to its calendars).", "error"); return; }
    const title = window.prompt("Title of the blocked time", "Blocked");
    if (title === null) return;
    try {
      await create({ title, startTime: isoOf(selection.start), endTime: isoOf(selection.end) });
    } catch (problem) {
      fail(problem);
    }
  }

  function askScope() {
    const dialog = $("scope-dialog");
    return new Promise((resolve) => {
      const done = (answer) => () => { dialog.close(); resolve(answer); };
      $("scope-one").onclick = done("one");
      $("scope-series").onclick = done("series");
      $("scope-cancel").onclick = done(null);
      dialog.oncancel = done(null);
      dialog.showModal();
      $("scope-one").focus();
    });
  }

  /** The block as the view shows it, with its current ETag; a 412 of our own making when it
   * changed since the view loaded (so that a drag never overwrites someone else's edit). */
  async function current(dto) {
    const answer = await getBlock(dto.id);
    const now = answer.body;
    const fields = ["dateUpdated", "startTime", "endTime", "title", "notes"];
    if (fields.some((field) => now[field] !== dto[field])) {
      throw new ApiError(412, { message: "changed elsewhere since the view loaded" });
    }
    return answer.etag;
  }

  /** The whole series moved by what one instance moved: its master's times shifted alike. */
  async function moveSeries(dto, startShift, endShift, extra) {
    const master = await getBlock(dto.masterEventId);
    const body = Object.assign({
      locationId: state.locationId,
      startTime: isoInZone(state.zone, Date.parse(master.body.startTime) + startShift),
      endTime: isoInZone(state.zone, Date.parse(master.body.endTime) + endShift),
    }, extra);
    const path = `/calendars/events/block-slots/${encodeURIComponent(dto.masterEventId)}`;
    await api("PUT", path, { body, ifMatch: master.etag });
  }

  async function onMove(change) {
    const dto = change.event.extendedProps.dto;
    const scope = dto.masterEventId ? await askScope() : "one";
    if (!scope) { change.revert(); return; }
    const start = instantOf(change.event.start);
    const end = instantOf(change.event.end);
    try {
      const etag = await current(dto);
      if (scope === "series") {
        await moveSeries(dto, start - Date.parse(dto.startTime), end - Date.parse(dto.endTime), {});
      } else {
        const body = { locationId: state.locationId, startTime: isoInZone(state.zone, start), endTime: isoInZone(state.zone, end) };
        await api("PUT", `/calendars/events/block-slots/${encodeURIComponent(dto.id)}`, { body, ifMatch: etag });
      }
      say(`Moved "${dto.title || "(blocked)"}"${scope === "series" ? " and its whole series" : ""}.`, "ok");
      state.calendar.refetchEvents();
    } catch (problem) {
      change.revert();
      fail(problem);
    }
  }

  // --- the editor: title, notes, times; delete ------------------------------------------

  const editing = { dto: null, etag: null };
  const localInput = (iso) => wallOf(iso).slice(0, 16);
  const inputInstant = (value) => wallToInstant(state.zone, Date.parse(`${value}:00Z`));

  async function openEditor(event) {
    const dto = event.extendedProps.dto;
    let answer;
    try {
      answer = await getBlock(dto.id);
    } catch (problem) {
      fail(problem);
      return;
    }
    Object.assign(editing, { dto: answer.body, etag: answer.etag });
    const block = answer.body;
    $("editor-title-input").value = block.title || "";
    $("editor-notes").value = block.notes || "";
    $("editor-start").value = localInput(block.startTime);
    $("editor-end").value = localInput(block.endTime);
    $("editor-scope").hidden = !block.masterEventId;
    $("editor-kind").textContent = block.masterEventId
      ? `An instance of a series (${block.rrule || "recurring"}).`
      : block.isRecurring ? `A series (${block.rrule}).` : "A one-off block.";
    document.querySelector('input[name="scope"][value="one"]').checked = true;
    $("editor").showModal();
    $("editor-title-input").focus();
  }

  function editorScope() {
    return editing.dto.masterEventId ? document.querySelector('input[name="scope"]:checked').value : "one";
  }

  async function saveEditor(event) {
    event.preventDefault();
    const dto = editing.dto;
    const texts = { title: $("editor-title-input").value, notes: $("editor-notes").value };
    const start = inputInstant($("editor-start").value);
    const end = inputInstant($("editor-end").value);
    if (Number.isNaN(start) || Number.isNaN(end)) { say("Give a start and an end.", "error"); return; }
    $("editor").close();
    try {
      if (editorScope() === "series") {
        await moveSeries(dto, start - Date.parse(dto.startTime), end - Date.parse(dto.endTime), texts);
      } else {
        const body = Object.assign({ locationId: state.locationId, startTime: isoInZone(state.zone, start), endTime: isoInZone(state.zone, end) }, texts);
        await api("PUT", `/calendars/events/block-slots/${encodeURIComponent(dto.id)}`, { body, ifMatch: editing.etag });
      }
      say(`Saved "${texts.title || "(blocked)"}".`, "ok");
      state.calendar.refetchEvents();
    } catch (problem) {
      fail(problem);
    }
  }

  async function deleteFromEditor() {
    const dto = editing.dto;
    const series = editorScope() === "series";
    $("editor").close();
    try {
      const id = series ? dto.masterEventId : dto.id;
      const etag = series ? (await getBlock(id)).etag : editing.etag;
      await api("DELETE", `/calendars/events/${encodeURIComponent(id)}`, { body: {}, ifMatch: etag });
      say(series ? "Deleted the whole series." : `Deleted "${dto.title || "(blocked)"}".`, "ok");
      state.calendar.refetchEvents();
    } catch (problem) {
      fail(problem);
    }
  }

  // --- the creator: one-off or recurring, writing an RRULE -------------------------------

  const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

  function creatorRule() {
    const repeat = $("creator-repeat").value;
    if (repeat === "none") return "";
    const parts = [];
    if (repeat === "daily") parts.push("FREQ=DAILY");
    if (repeat === "monthly") parts.push("FREQ=MONTHLY");
    if (repeat === "weekdays") parts.push("FREQ=WEEKLY", "BYDAY=MO,TU,WE,TH,FR");
    if (repeat === "weekly") {
      const day = $("creator-date").value ? WEEKDAYS[new Date(`${$("creator-date").value}T00:00:00Z`).getUTCDay()] : "MO";
      const days = [...$("creator-days").querySelectorAll("input:checked")].map((box) => box.value);
      parts.push("FREQ=WEEKLY", `BYDAY=${(days.length ? days : [day]).join(",")}`);
    }
    const ends = document.querySelector('input[name="ends"]:checked').value;
    if (ends === "until" && $("creator-until").value) parts.push(`UNTIL=${$("creator-until").value.replaceAll("-", "")}`);
    if (ends === "count") parts.push(`COUNT=${Math.max(1, Number($("creator-count").value) || 1)}`);
    return `RRULE:${parts.join(";")}`;
  }

  function updateCreator() {
    const repeat = $("creator-repeat").value;
    $("creator-days").hidden = repeat !== "weekly";
    $("creator-ends").hidden = repeat === "none";
    $("creator-rule").textContent = creatorRule() || "none (a one-off block)";
  }

  function openCreator() {
    if (!owner()) { say("Pick a calendar or a user to create a block (a group's blocks belong to its calendars).", "error"); return; }
    const day = state.calendar.getDate();
    $("creator-date").value = day.toISOString().slice(0, 10);
    updateCreator();
    $("creator").showModal();
    $("creator-title-input").focus();
  }

  async function saveCreator(event) {
    event.preventDefault();
    const day = $("creator-date").value;
    const start = inputInstant(`${day}T${$("creator-start").value}`);
    const end = inputInstant(`${day}T${$("creator-end").value}`);
    if (Number.isNaN(start) || Number.isNaN(end)) { say("Give a day, a start and an end.", "error"); return; }
    const fields = { title: $("creator-title-input").value, startTime: isoInZone(state.zone, start), endTime: isoInZone(state.zone, end) };
    const rule = creatorRule();
    if (rule) fields.rrule = rule;
    $("creator").close();
    try {
      await create(fields);
    } catch (problem) {
      fail(problem);
    }
  }

  // --- the calendar ---------------------------------------------------------------------

  function labelBox(info) {
    const { dto, closed } = info.event.extendedProps;
    if (closed) {
      info.el.dataset.closed = closed; // the closed hours of its day, local
      return;
    }
    if (!dto) {
      info.el.dataset.freeSlot = info.event.startStr.slice(0, 16); // the slot's local start
      return;
    }
    const kind = dto.masterEventId ? "series instance" : "one-off block";
    info.el.dataset.blockId = dto.id;
    info.el.tabIndex = 0;
    info.el.setAttribute("role", "button");
    info.el.setAttribute("aria-label", `${info.event.title}, ${kind}, ${wallOf(dto.startTime).replace("T", " ")} to ${wallOf(dto.endTime).slice(11, 16)}`);
    info.el.addEventListener("keydown", (key) => {
      if (key.key === "Enter" || key.key === " ") { key.preventDefault(); openEditor(info.event); }
    });
  }

  function initialDate() {
    const hash = new URLSearchParams(window.location.hash.slice(1));
    return hash.get("date") || wallNow().toISOString().slice(0, 10);
  }

  function buildCalendar() {
    const narrow = window.matchMedia("(max-width: 640px)").matches;
    state.calendar = new FullCalendar.Calendar($("calendar"), {
      timeZone: "UTC",
      now: () => wallNow().toISOString().slice(0, 19),
      initialView: narrow ? "timeGridDay" : "timeGridWeek",
      initialDate: initialDate(),
      headerToolbar: { left: "prev,next today", center: "title", right: "timeGridWeek,timeGridDay,dayGridMonth" },
      buttonText: { today: "today", week: "week", day: "day", month: "month" },
      firstDay: 1,
      allDaySlot: false,
      nowIndicator: true,
      scrollTime: "07:00:00",
      height: "100%",
      slotEventOverlap: false,
      selectable: true,
      views: { dayGridMonth: { selectable: false } }, // blocks are drawn in hours, not days
      navLinks: true, // a day's name opens that day
      selectMirror: true,
      editable: true,
      eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      events: loadEvents,
      loading: (on) => setBusy(on ? 1 : -1),
      select: onSelect,
      eventClick: (info) => openEditor(info.event),
      eventDrop: onMove,
      eventResize: onMove,
      eventDidMount: labelBox,
    });
    state.calendar.render();
  }

  function changeTarget() {
    state.target = $("target").value;
    session.setItem("slotblock.target", state.target);
    state.calendar.refetchEvents();
  }

  function toggleFree() {
    state.showFree = !state.showFree;
    $("free-toggle").setAttribute("aria-pressed", String(state.showFree));
    if (state.showFree && !currentCalendar()) say("Free slots are a calendar's: pick a calendar.", "error");
    state.calendar.refetchEvents();
  }

  function showApp() {
    $("signin").hidden = true;
    $("app").hidden = false;
    fillTargets();
    showZone();
    if (!state.calendar) buildCalendar();
    else changeTarget();
  }

  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("pick-form").addEventListener("submit", pickLocation);
    $("pick-cancel").addEventListener("click", leavePicker);
    $("sign-out").addEventListener("click", signOut);
    $("target").addEventListener("change", changeTarget);
    $("free-toggle").addEventListener("click", toggleFree);
    $("new-block").addEventListener("click", openCreator);
    $("editor-form").addEventListener("submit", saveEditor);
    $("editor-delete").addEventListener("click", deleteFromEditor);
    $("editor-cancel").addEventListener("click", () => $("editor").close());
    $("creator-form").addEventListener("submit", saveCreator);
    $("creator-cancel").addEventListener("click", () => $("creator").close());
    $("creator-form").addEventListener("input", updateCreator);
    $("creator-form").addEventListener("change", updateCreator);
  }

  async function start() {
    wire();
    prefill();
    if (state.token) await enter(state.token, state.locationId, $("signin-error"));
  }

  document.addEventListener("DOMContentLoaded", start);
})();
