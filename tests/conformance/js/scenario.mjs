// The official JavaScript SDK against a live slotblock: the same scenario as the Python SDK.
// Environment: SLOTBLOCK_URL, SLOTBLOCK_TOKEN, LOCATION_ID, USER_ID. Prints one JSON line.
import assert from "node:assert/strict";
import sdk from "@gohighlevel/api-client";

const { HighLevel } = sdk;
const { SLOTBLOCK_URL, SLOTBLOCK_TOKEN, LOCATION_ID, USER_ID } = process.env;
HighLevel.BASE_URL = SLOTBLOCK_URL; // the one change a client makes
const ghl = new HighLevel({ privateIntegrationToken: SLOTBLOCK_TOKEN, logLevel: "error" });
const cal = ghl.calendars;
const window = { startTime: "1709251200000", endTime: "1711929600000" }; // March 2024 UTC

const { group } = await cal.createCalendarGroup({
  locationId: LOCATION_ID, name: "JS group", description: "d", slug: "js-group",
});
const { calendar } = await cal.createCalendar({
  locationId: LOCATION_ID, name: "JS calendar", groupId: group.id,
  teamMembers: [{ userId: USER_ID, priority: 0.5 }], slotDuration: 15,
});
assert.equal(calendar.groupId, group.id);
const { calendars } = await cal.getCalendars({ locationId: LOCATION_ID, groupId: group.id });
assert.deepEqual(calendars.map((c) => c.name), ["JS calendar"]);
const { groups } = await cal.getGroups({ locationId: LOCATION_ID });
assert.ok(groups.some((g) => g.id === group.id));

const lunch = await cal.createBlockSlot({
  locationId: LOCATION_ID, calendarId: calendar.id, title: "Lunch",
  startTime: "2024-03-11T12:00:00-04:00", endTime: "2024-03-11T13:00:00-04:00",
});
const dentist = await cal.createBlockSlot({
  locationId: LOCATION_ID, assignedUserId: USER_ID, title: "Dentist",
  startTime: "2024-03-12T09:00:00-04:00", endTime: "2024-03-12T10:00:00-04:00",
});
const series = await cal.createBlockSlot({
  locationId: LOCATION_ID, calendarId: calendar.id, title: "Standup",
  startTime: "2024-03-04T09:00:00-05:00", endTime: "2024-03-04T09:15:00-05:00",
  rrule: "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4",
});
for (const created of [lunch, dentist, series]) {
  for (const key of ["id", "locationId", "title", "startTime", "endTime"]) assert.ok(key in created, key);
}

const byCalendar = (await cal.getBlockedSlots({ locationId: LOCATION_ID, calendarId: calendar.id, ...window })).events;
assert.deepEqual(byCalendar.map((e) => e.title), ["Standup", "Standup", "Lunch", "Standup", "Standup"]);
assert.equal(byCalendar[1].startTime, "2024-03-11T09:00:00-04:00");
const byUser = (await cal.getBlockedSlots({ locationId: LOCATION_ID, userId: USER_ID, ...window })).events;
assert.deepEqual(byUser.map((e) => e.id), [dentist.id]);
const byGroup = (await cal.getBlockedSlots({ locationId: LOCATION_ID, groupId: group.id, ...window })).events;
assert.deepEqual(byGroup.map((e) => e.id), byCalendar.map((e) => e.id));

const second = byCalendar[1];
const moved = await cal.editBlockSlot({ eventId: second.id }, {
  locationId: LOCATION_ID, calendarId: calendar.id, title: "Moved standup",
  startTime: "2024-03-11T10:00:00-04:00", endTime: "2024-03-11T10:15:00-04:00",
});
assert.equal(moved.id, second.id);
await cal.editBlockSlot({ eventId: series.id }, { locationId: LOCATION_ID, calendarId: calendar.id, title: "Weekly standup" });
const third = byCalendar.find((e) => e.startTime.startsWith("2024-03-18"));
assert.deepEqual(await cal.deleteEvent({ eventId: third.id }, {}), { succeeded: true });
const after = (await cal.getBlockedSlots({ locationId: LOCATION_ID, calendarId: calendar.id, ...window })).events;
assert.deepEqual(after.map((e) => [e.title, e.startTime.slice(0, 13)]), [
  ["Weekly standup", "2024-03-04T09"], ["Moved standup", "2024-03-11T10"],
  ["Lunch", "2024-03-11T12"], ["Weekly standup", "2024-03-25T09"],
]);

assert.deepEqual(await cal.deleteEvent({ eventId: series.id }, {}), { succeeded: true });
assert.deepEqual(await cal.deleteEvent({ eventId: lunch.id }, {}), { succeeded: true });
const empty = (await cal.getBlockedSlots({ locationId: LOCATION_ID, calendarId: calendar.id, ...window })).events;
assert.deepEqual(empty, []);
assert.equal((await cal.deleteCalendar({ calendarId: calendar.id })).success, true);
assert.equal((await cal.deleteGroup({ groupId: group.id })).success, true);
console.log(JSON.stringify({ ok: true, sdk: "@gohighlevel/api-client", calls: 19 }));
