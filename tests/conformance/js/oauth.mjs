// The official JavaScript SDK's OAuth against a live slotblock (test_sdk_oauth.py): it
// follows its own authorization URL (pointed at slotblock), exchanges the code for a
// company's token, exchanges that for a location's token, refreshes (the refresh token
// rotates: the used one is refused), lists installed locations, and reads blocked slots
// with the location's token. Environment: SLOTBLOCK_URL, CLIENT_ID, CLIENT_SECRET,
// REDIRECT_URI, COMPANY_ID, LOCATION_ID, CALENDAR_ID, APP_ID. Prints one JSON line.
import assert from "node:assert/strict";
import sdk from "@gohighlevel/api-client";

const { HighLevel } = sdk;
const env = process.env;
HighLevel.BASE_URL = env.SLOTBLOCK_URL;
const credentials = { clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, logLevel: "silent" };
const ghl = new HighLevel(credentials);

const url = new URL(ghl.oauth.getAuthorizationUrl(
  env.CLIENT_ID, env.REDIRECT_URI, "oauth.write calendars/events.readonly"));
const consent = await fetch(`${env.SLOTBLOCK_URL}${url.pathname}${url.search}`, { redirect: "manual" });
assert.equal(consent.status, 302);
const code = new URL(consent.headers.get("location")).searchParams.get("code");

const company = await ghl.oauth.getAccessToken({
  client_id: env.CLIENT_ID, client_secret: env.CLIENT_SECRET,
  grant_type: "authorization_code", code, user_type: "Company", redirect_uri: env.REDIRECT_URI,
});
assert.equal(company.userType, "Company");
assert.equal(company.companyId, env.COMPANY_ID);
assert.equal(company.scope, "oauth.write calendars/events.readonly");

const agency = new HighLevel({ ...credentials, agencyAccessToken: company.access_token });
const location = await agency.oauth.getLocationAccessToken({
  companyId: env.COMPANY_ID, locationId: env.LOCATION_ID,
});
assert.equal(location.locationId, env.LOCATION_ID);
assert.equal(location.token_type, "Bearer");

const refreshed = await ghl.oauth.refreshToken(
  company.refresh_token, env.CLIENT_ID, env.CLIENT_SECRET, "refresh_token", "Company");
assert.notEqual(refreshed.refresh_token, company.refresh_token);
const reused = await ghl.oauth.refreshToken(
  company.refresh_token, env.CLIENT_ID, env.CLIENT_SECRET, "refresh_token", "Company",
).then(() => assert.fail("expected the used refresh token to be refused"), (error) => error);
assert.equal(reused.statusCode, 400);

const scoped = await new HighLevel({ ...credentials, agencyAccessToken: refreshed.access_token })
  .oauth.getInstalledLocation({ companyId: env.COMPANY_ID, appId: env.APP_ID })
  .then(() => assert.fail("expected 401: the token has no oauth.readonly"), (error) => error);
assert.equal(scoped.statusCode, 401);

const located = new HighLevel({ ...credentials, locationAccessToken: location.access_token });
const { events } = await located.calendars.getBlockedSlots({
  locationId: env.LOCATION_ID, calendarId: env.CALENDAR_ID,
  startTime: "1767567600000", endTime: "1767999600000",
});
assert.deepEqual(events, []);
console.log(JSON.stringify({ ok: true }));
