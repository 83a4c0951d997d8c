// The official JavaScript SDK against injected faults (rules added by test_sdk_faults.py):
// a 503 it reports as a server error, a 429 whose rate-limit headers it parses, and a 429
// its own opt-in retry gets through. Environment: SLOTBLOCK_URL, SLOTBLOCK_TOKEN,
// LOCATION_ID. Prints one JSON line.
import assert from "node:assert/strict";
import sdk from "@gohighlevel/api-client";

const { HighLevel, GHLServerError, GHLRateLimitError } = sdk;
const { SLOTBLOCK_URL, SLOTBLOCK_TOKEN, LOCATION_ID } = process.env;
HighLevel.BASE_URL = SLOTBLOCK_URL;
const client = (extra = {}) =>
  new HighLevel({ privateIntegrationToken: SLOTBLOCK_TOKEN, logLevel: "silent", ...extra }).calendars;

const unavailable = await client().getGroups({ locationId: LOCATION_ID }).then(
  () => assert.fail("expected a 503"), (error) => error);
assert.ok(unavailable instanceof GHLServerError, unavailable.name);
assert.equal(unavailable.statusCode, 503);
assert.equal(unavailable.message, "Service Unavailable");

const limited = await client().getGroups({ locationId: LOCATION_ID }).then(
  () => assert.fail("expected a 429"), (error) => error);
assert.ok(limited instanceof GHLRateLimitError, limited.name);
assert.equal(limited.statusCode, 429);
assert.deepEqual(limited.rateLimit, {
  scope: "burst", intervalMs: 10000, max: 100, remaining: 0,
  dailyLimit: 200000, dailyRemaining: 199900, dailyResetMs: undefined,
});

const retrying = client({ rateLimitRetry: { maxRetries: 2, maxDelayMs: 50 } });
const { groups } = await retrying.getGroups({ locationId: LOCATION_ID });
assert.deepEqual(groups.map((g) => g.id), ["frontDesk01"]);
console.log(JSON.stringify({ ok: true }));
