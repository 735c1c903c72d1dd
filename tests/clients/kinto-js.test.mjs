// pawl as the server of kinto.js, Kinto's offline-first client: two local
// databases ("devices" A and B, two Kinto instances with their own IndexedDB
// database, provided in Node by fake-indexeddb) synchronise through pawl.
//
// kinto.js pulls with GET .../records?_since=<ETag> (every page) and pushes
// every local change in ONE POST /v1/batch with If-Match / If-None-Match
// preconditions: everything but the pull-only test needs /batch, and is skipped
// with a message while the server answers 404 there.
//
// Each test names its own bucket (kinto.js's `bucket` option) and creates it and
// its collection first; one test uses the personal "default" bucket, kinto.js's
// default, where the server creates both on first use.
import "fake-indexeddb/auto"; // indexedDB and IDBKeyRange as globals, in memory
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import kintoModule from "kinto";
import { PAWL_URL, uniq, basic, batchAvailable } from "./common.mjs";

const Kinto = kintoModule.default;
const { KintoClient } = kintoModule;
const { MANUAL, CLIENT_WINS, SERVER_WINS, PULL_ONLY } = Kinto.syncStrategy;

let HAS_BATCH = false;
before(async () => {
  HAS_BATCH = await batchAvailable();
});
function needsBatch(t) {
  if (HAS_BATCH) return false;
  t.skip("kinto.js pushes through POST /v1/batch, which this pawl does not serve (404)");
  return true;
}

// A collection on the server, owned by alice, readable and writable by the
// users given (kinto.js needs the collection to exist: it GETs its metadata
// before every sync).
async function serverCollection(name, users = ["alice"]) {
  const admin = new KintoClient(PAWL_URL, { headers: basic("alice") });
  const bid = uniq(`kjs-${name}`);
  const ids = [];
  for (const u of users) ids.push((await new KintoClient(PAWL_URL, { headers: basic(u) }).fetchUser()).id);
  await admin.createBucket(bid, { permissions: { read: ids, write: ids } });
  await admin.bucket(bid).createCollection("notes");
  return { bid, admin: admin.bucket(bid).collection("notes") };
}

// A device: a kinto.js instance with its own local database.
function device(deviceName, bid, user = "alice", collectionOptions = {}) {
  const kinto = new Kinto({
    remote: PAWL_URL,
    bucket: bid,
    headers: basic(user),
    adapterOptions: { dbName: `${bid}-${deviceName}` },
    retry: 0,
  });
  return kinto.collection("notes", collectionOptions);
}

async function localRecords(coll) {
  const { data } = await coll.list({ order: "id" });
  return data;
}
const strip = ({ _status, last_modified, ...rest }) => rest; // eslint-disable-line no-unused-vars

async function syncOk(coll, options = {}) {
  const result = await coll.sync(options);
  assert.equal(result.ok, true,
    `sync ok (errors ${JSON.stringify(result.errors)}, conflicts ${JSON.stringify(result.conflicts)})`);
  return result;
}

describe("kinto.js 15.0.0 through pawl", () => {
  test("pull only: a device imports server changes, tombstones included", async () => {
    const { bid, admin } = await serverCollection("pull");
    await admin.createRecord({ id: "r1", title: "one" });
    await admin.createRecord({ id: "r2", title: "two" });
    await admin.createRecord({ id: "r3", title: "three" });

    const b = device("B", bid);
    const first = await syncOk(b, { strategy: PULL_ONLY });
    assert.deepEqual(first.created.map((r) => r.id).sort(), ["r1", "r2", "r3"]);
    assert.deepEqual((await localRecords(b)).map((r) => [r.id, r.title, r._status]),
      [["r1", "one", "synced"], ["r2", "two", "synced"], ["r3", "three", "synced"]]);
    const ts = await b.db.getLastModified();
    assert.equal(ts, Number(await admin.getRecordsTimestamp().then((e) => e.replace(/"/g, ""))),
      "the local timestamp is the server's list ETag");

    // Changes on the server: one update, one delete, one create.
    await admin.updateRecord({ id: "r2", title: "two!" });
    await admin.deleteRecord("r3");
    await admin.createRecord({ id: "r4", title: "four" });
    // Collection metadata changes do not move the records' timestamp (else
    // kinto.js would think the server was flushed).
    await admin.setData({ note: "metadata" }, { patch: true });

    const second = await syncOk(b, { strategy: PULL_ONLY });
    assert.deepEqual(second.created.map((r) => r.id), ["r4"]);
    assert.deepEqual(second.updated.map((u) => u.new.id), ["r2"]);
    assert.deepEqual(second.deleted.map((r) => r.id), ["r3"]);
    assert.deepEqual((await localRecords(b)).map((r) => [r.id, r.title]),
      [["r1", "one"], ["r2", "two!"], ["r4", "four"]]);
    assert.equal((await b.metadata()).note, "metadata", "collection metadata is pulled too");

    // Nothing new: an empty sync.
    const third = await syncOk(b, { strategy: PULL_ONLY });
    assert.equal(third.created.length + third.updated.length + third.deleted.length, 0);

    // More records than one page of the server (run sets paginate_by = 10):
    // kinto.js follows Next-Page.
    for (let i = 0; i < 30; i++) await admin.createRecord({ id: `bulk${String(i).padStart(2, "0")}`, i });
    const c = device("C", bid);
    const all = await syncOk(c, { strategy: PULL_ONLY });
    assert.equal(all.created.length, 33);
    assert.equal(new Set(all.created.map((r) => r.id)).size, 33);
    const since = await syncOk(b, { strategy: PULL_ONLY });
    assert.equal(since.created.length, 30, "a _since pull over several pages");
  });

  test("A creates and syncs; B syncs and sees it; deletions travel too", async (t) => {
    if (needsBatch(t)) return;
    const { bid, admin } = await serverCollection("share");
    const a = device("A", bid);
    const b = device("B", bid);

    const { data: created } = await a.create({ title: "from A", done: false });
    assert.equal(created._status, "created");
    const other = (await a.create({ title: "second" })).data;
    const pushed = await syncOk(a);
    assert.deepEqual(pushed.published.map((r) => r.id).sort(), [created.id, other.id].sort());
    const onA = await a.get(created.id);
    assert.equal(onA.data._status, "synced");
    assert.equal(typeof onA.data.last_modified, "number");

    const onServer = await admin.getRecord(created.id);
    assert.deepEqual(strip(onServer.data), { id: created.id, title: "from A", done: false });
    assert.equal(onServer.data.last_modified, onA.data.last_modified);

    const pulled = await syncOk(b);
    assert.deepEqual(pulled.created.map((r) => r.id).sort(), [created.id, other.id].sort());
    const onB = await b.get(created.id);
    assert.deepEqual(strip(onB.data), strip(onA.data));
    assert.equal(onB.data._status, "synced");

    // B edits, A gets it.
    await b.update({ ...onB.data, done: true });
    await syncOk(b);
    const back = await syncOk(a);
    assert.deepEqual(back.updated.map((u) => u.new.id), [created.id]);
    assert.equal((await a.get(created.id)).data.done, true);

    // A deletes, B loses it.
    await a.delete(other.id);
    const del = await syncOk(a);
    assert.deepEqual(del.published.map((r) => [r.id, r.deleted]), [[other.id, true]]);
    const gone = await syncOk(b);
    assert.deepEqual(gone.deleted.map((r) => r.id), [other.id]);
    assert.deepEqual((await localRecords(b)).map((r) => r.id), [created.id]);
    assert.deepEqual((await admin.listRecords()).data.map((r) => r.id), [created.id]);
  });

  test("both edit the same record: a conflict, resolved by hand; both converge", async (t) => {
    if (needsBatch(t)) return;
    const { bid } = await serverCollection("manual");
    const a = device("A", bid);
    const b = device("B", bid);
    const { data: rec } = await a.create({ title: "draft", body: "v0" });
    await syncOk(a);
    await syncOk(b);

    await a.update({ ...(await a.get(rec.id)).data, title: "A's title" });
    await syncOk(a);
    await b.update({ ...(await b.get(rec.id)).data, body: "B's body" });

    // B pulls A's change over its own unsynced one: an incoming conflict.
    const result = await b.sync({ strategy: MANUAL });
    assert.equal(result.ok, false);
    assert.equal(result.conflicts.length, 1);
    const [conflict] = result.conflicts;
    assert.equal(conflict.type, "incoming");
    assert.equal(conflict.local.body, "B's body");
    assert.equal(conflict.local.title, "draft");
    assert.equal(conflict.remote.title, "A's title");
    assert.equal(conflict.remote.body, "v0");

    // Merge both edits and sync again.
    await b.resolve(conflict, { ...conflict.local, title: conflict.remote.title });
    const after = await syncOk(b, { strategy: MANUAL });
    assert.deepEqual(after.published.map((r) => r.id), [rec.id]);
    await syncOk(a, { strategy: MANUAL });

    const onA = (await a.get(rec.id)).data;
    const onB = (await b.get(rec.id)).data;
    assert.deepEqual(strip(onA), { id: rec.id, title: "A's title", body: "B's body" });
    assert.deepEqual(onA, onB, "A and B hold the same record, timestamp included");
  });

  test("a change lands on the server between pull and push: an outgoing conflict (412 in the batch)", async (t) => {
    if (needsBatch(t)) return;
    const { bid, admin } = await serverCollection("race");
    // Another writer changes "r" on the server while A is between its pull
    // (the hook runs on what was pulled) and its push.
    let race = false;
    const hooks = {
      "incoming-changes": [async (payload) => {
        if (race) await admin.updateRecord({ id: "r", v: 2 });
        return payload;
      }],
    };
    const a = device("A", bid, "alice", { hooks });
    await a.create({ id: "r", v: 0 }, { useRecordId: true });
    await syncOk(a);
    await a.update({ ...(await a.get("r")).data, v: 1 });
    race = true;
    const result = await a.sync({ strategy: MANUAL });
    race = false;
    assert.equal(result.ok, false);
    assert.equal(result.conflicts.length, 1);
    assert.equal(result.conflicts[0].type, "outgoing");
    assert.equal(result.conflicts[0].local.v, 1);
    assert.equal(result.conflicts[0].remote.v, 2, "the 412 carried the current record");
    assert.equal((await admin.getRecord("r")).data.v, 2, "the stale write was refused");

    // Keep the local version: resolve, sync, and the server has it.
    await a.resolve(result.conflicts[0], result.conflicts[0].local);
    await syncOk(a);
    assert.equal((await admin.getRecord("r")).data.v, 1);
  });

  test("CLIENT_WINS and SERVER_WINS strategies converge", async (t) => {
    if (needsBatch(t)) return;
    const { bid } = await serverCollection("strategies");
    const a = device("A", bid);
    const b = device("B", bid);
    await a.create({ id: "r", v: "base" }, { useRecordId: true });
    await syncOk(a);
    await syncOk(b);

    // CLIENT_WINS: B's edit replaces A's on the server.
    await a.update({ ...(await a.get("r")).data, v: "A1" });
    await syncOk(a);
    await b.update({ ...(await b.get("r")).data, v: "B1" });
    const cw = await b.sync({ strategy: CLIENT_WINS });
    assert.equal(cw.ok, true);
    assert.equal(cw.resolved.length, 1, `one conflict resolved (${JSON.stringify(cw.resolved)})`);
    assert.equal((await b.get("r")).data.v, "B1");
    assert.equal((await b.get("r")).data._status, "synced");
    await syncOk(a);
    assert.equal((await a.get("r")).data.v, "B1", "A gets B's version");

    // SERVER_WINS: B's edit is dropped for A's.
    await a.update({ ...(await a.get("r")).data, v: "A2" });
    await syncOk(a);
    await b.update({ ...(await b.get("r")).data, v: "B2" });
    const sw = await b.sync({ strategy: SERVER_WINS });
    assert.equal(sw.ok, true);
    assert.equal((await b.get("r")).data.v, "A2", "the server's version won");

    await syncOk(a);
    await syncOk(b);
    const onA = await localRecords(a);
    const onB = await localRecords(b);
    assert.deepEqual(onA, onB, "A and B converge");
    assert.deepEqual(onA.map((r) => [r.id, r.v, r._status]), [["r", "A2", "synced"]]);
  });

  test("expectedTimestamp: the cache-busting _expected parameter is accepted", async () => {
    // kinto.js (like Firefox's remote-settings client) adds ?_expected=<ts> to
    // the metadata and records requests; Kinto ignores unknown "_" parameters.
    const { bid, admin } = await serverCollection("expected");
    const { data: rec } = await admin.createRecord({ id: "r1" });
    const b = device("B", bid);
    const res = await syncOk(b, { strategy: PULL_ONLY, expectedTimestamp: rec.last_modified });
    assert.deepEqual(res.created.map((r) => r.id), ["r1"]);
  });

  test("the personal default bucket (no bucket option): devices of one user share it", async (t) => {
    const probe = new KintoClient(PAWL_URL, { headers: basic("dora") });
    if (!(await probe.fetchServerCapabilities()).default_bucket) {
      t.skip("the server has no default_bucket capability");
      return;
    }
    if (needsBatch(t)) return;
    const cname = uniq("kjs-default");
    const mk = (name, user) => new Kinto({
      remote: PAWL_URL, headers: basic(user), adapterOptions: { dbName: `${cname}-${name}` }, retry: 0,
    }).collection(cname);
    const a = mk("A", "dora");
    const b = mk("B", "dora");
    const e = mk("E", "erin");
    // The collection does not exist yet: the first sync creates it implicitly.
    await a.create({ title: "mine" });
    await syncOk(a);
    const pulled = await syncOk(b);
    assert.deepEqual(pulled.created.map((r) => r.title), ["mine"]);
    // Another user's default bucket is another bucket.
    const other = await syncOk(e);
    assert.equal(other.created.length, 0);
    const doraBucket = (await probe.fetchUser()).bucket;
    const { data } = await probe.bucket(doraBucket).collection(cname).listRecords();
    assert.deepEqual(data.map((r) => r.title), ["mine"]);
  });

  test("a reader that may not write gets the errors in the sync result", async (t) => {
    if (needsBatch(t)) return;
    const { bid, admin } = await serverCollection("readonly", ["alice"]);
    const bobId = (await new KintoClient(PAWL_URL, { headers: basic("bob") }).fetchUser()).id;
    await admin.setPermissions({ read: [bobId] });
    await admin.createRecord({ id: "r1", v: 1 });
    const bob = device("bob", bid, "bob");
    await syncOk(bob);
    assert.deepEqual((await localRecords(bob)).map((r) => r.id), ["r1"]);
    await bob.create({ v: "bob's" });
    const res = await bob.sync();
    assert.equal(res.ok, false);
    assert.equal(res.errors.length, 1);
    assert.equal(res.errors[0].type, "outgoing");
    assert.equal(res.errors[0].error.errno, 121, `403 errno 121 (${JSON.stringify(res.errors[0])})`);
  });
});
