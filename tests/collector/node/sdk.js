// The official Node SDK (npm `mixpanel`, pinned in package.json), unchanged, driven by
// tests/collector/test_node_sdk.py against a real `utmost serve` over HTTPS.
//
// Usage: node sdk.js '{"host": "127.0.0.1:PORT", "token", "secret", "user", "userSecret",
//                      "projectId", "verbose", "now", "calls": [names of CALLS, in order]}'
// The certificate is trusted through NODE_EXTRA_CA_CERTS, as a user of a self-signed one would.
// Prints {"call name": null, or the error the SDK reported} as JSON, once every call has ended.
"use strict";

const Mixpanel = require("mixpanel");

const config = JSON.parse(process.argv[2]);
const warnings = [];
const logger = {
  trace() {}, debug() {}, info() {}, error: (...args) => warnings.push(args.join(" ")),
  warn: (...args) => warnings.push(args.join(" ")), // the SDK's deprecation notice for `secret`
};
const common = { host: config.host, protocol: "https", verbose: config.verbose, keepAlive: false, logger };
// Three clients, as three programs would have them: a tracker, an importer with the project
// secret, and code migrated from Mixpanel with a service account and the numeric project id.
const tracker = Mixpanel.init(config.token, common);
const importer = Mixpanel.init(config.token, { ...common, secret: config.secret });
const migrated = Mixpanel.init(config.token, {
  ...common,
  credentials: new Mixpanel.ServiceAccountCredentials(config.user, config.userSecret, config.projectId),
});
const wrong = Mixpanel.init(config.token, { ...common, secret: "not-the-secret" });

const DAY = 86400;
const landed = config.now - 2 * DAY;
const importTime = config.now - 10 * DAY;

// Every call the SDK makes, each with a callback `done(error)`.
const CALLS = {
  track_landing: (done) => tracker.track("Page View", {
    distinct_id: "anon-1", utm_source: "newsletter", utm_campaign: "spring", time: landed,
  }, done),
  alias: (done) => tracker.alias("anon-1", "user-7", done),
  track_conversion: (done) => tracker.track("Reservation Completed", { distinct_id: "user-7", amount: 240 }, done),
  track_batch: (done) => tracker.track_batch([
    { event: "Room Viewed", properties: { distinct_id: "user-7", room: "deluxe" } },
    { event: "Room Viewed", properties: { distinct_id: "user-7", room: "suite", time: new Date() } },
  ], (errors) => done(errors && errors[0])),
  people_set: (done) => tracker.people.set("user-7", { plan: "free", $name: "Ada Guest" }, {}, done),
  people_set_one: (done) => tracker.people.set("user-7", "city", "Oslo", done),
  people_set_once: (done) => tracker.people.set_once("user-7", { plan: "pro", first_seen: "web" }, {}, done),
  people_increment: (done) => tracker.people.increment("user-7", { nights: 2 }, {}, done),
  people_increment_one: (done) => tracker.people.increment("user-7", "nights", done),
  people_append: (done) => tracker.people.append("user-7", { hotels: "h-1" }, {}, done),
  people_union: (done) => tracker.people.union("user-7", { rooms: ["deluxe", "suite"] }, {}, done),
  people_remove: (done) => tracker.people.remove("user-7", { rooms: "suite" }, {}, done),
  people_unset: (done) => tracker.people.unset("user-7", ["first_seen"], {}, done),
  people_track_charge: (done) => tracker.people.track_charge("user-7", 240, { currency: "EUR" }, done),
  people_clear_charges: (done) => tracker.people.clear_charges("user-8", done),
  people_delete_user: (done) => tracker.people.set("user-9", { plan: "free" }, {}, (error) =>
    error ? done(error) : tracker.people.delete_user("user-9", {}, done)),
  groups_set: (done) => tracker.groups.set("company", "acme", { rooms: 120, name: "Acme" }, {}, done),
  groups_set_once: (done) => tracker.groups.set_once("company", "acme", { name: "Other", city: "Oslo" }, {}, done),
  groups_union: (done) => tracker.groups.union("company", "acme", { regions: ["EU", "US"] }, {}, done),
  groups_remove: (done) => tracker.groups.remove("company", "acme", { regions: "US" }, {}, done),
  groups_unset: (done) => tracker.groups.unset("company", "acme", "rooms", {}, done),
  groups_delete_group: (done) => tracker.groups.set("company", "gone", { rooms: 1 }, {}, (error) =>
    error ? done(error) : tracker.groups.delete_group("company", "gone", {}, done)),
  import: (done) => importer.import("Historical Booking", importTime, {
    distinct_id: "user-7", $insert_id: "node-import-1",
  }, done),
  import_batch: (done) => importer.import_batch([
    { event: "Imported Stay", properties: { distinct_id: "user-7", time: importTime + 1, $insert_id: "node-batch-1" } },
    { event: "Imported Stay", properties: { distinct_id: "user-7", time: new Date((importTime + 2) * 1000) } },
  ], (errors) => done(errors && errors[0])),
  import_by_mixpanel_id: (done) => migrated.import("Migrated Booking", importTime + 3, { distinct_id: "user-7" }, done),
  import_batch_by_mixpanel_id: (done) => migrated.import_batch([
    { event: "Migrated Stay", properties: { distinct_id: "user-7", time: importTime + 4 } },
    { event: "Migrated Stay", properties: { distinct_id: "user-7", time: importTime + 5 } },
  ], (errors) => done(errors && errors[0])),
  import_with_a_wrong_secret: (done) => wrong.import("Lost Booking", importTime, { distinct_id: "user-7" }, done),
};

const results = {};

function run(index) {
  if (index === config.calls.length) {
    process.stdout.write(JSON.stringify({ results, warnings }) + "\n");
    return;
  }
  const name = config.calls[index];
  CALLS[name]((error) => {
    results[name] = error ? String(error.message || error) : null;
    run(index + 1);
  });
}

run(0);
