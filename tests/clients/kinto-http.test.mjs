// pawl driven by the official Kinto HTTP client, through its API only.
//
// Two builds of that client are exercised with the same tests:
//   - kinto-http 5.3.0, the last release of the standalone npm package;
//   - kinto 15.0.0's KintoClient: the same client, merged into kinto.js and
//     maintained there since (it is what kinto.js itself syncs with).
//
// PAWL_URL names the server (e.g. http://127.0.0.1:8888/v1); tests/clients/run
// starts a private stack (paginate_by = 10) and sets it. Every name created
// carries a random suffix, so reruns against one stack do not collide. Users are Basic-auth identities (any
// user:password pair is a user, as with Kinto's basicauth policy).
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import kintoHttpModule from "kinto-http";
import kintoModule from "kinto";
import { PAWL_URL, RUN, uniq, basic, rejectsWith, batchAvailable } from "./common.mjs";

const CLIENTS = [
  ["kinto-http 5.3.0", kintoHttpModule.default],
  ["kinto 15.0.0 KintoClient", kintoModule.KintoClient],
];

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BASICAUTH_ID = /^basicauth:[0-9a-f]{64}$/;

let HAS_BATCH = false;
before(async () => {
  HAS_BATCH = await batchAvailable();
});

for (const [clientName, KintoClient] of CLIENTS) {
  describe(clientName, () => {
    const tag = clientName.split(" ")[0]; // kinto-http | kinto
    const alice = new KintoClient(PAWL_URL, { headers: basic("alice") });
    const bob = new KintoClient(PAWL_URL, { headers: basic("bob") });
    const anonymous = new KintoClient(PAWL_URL, {});
    let aliceId, bobId;

    before(async () => {
      aliceId = (await alice.fetchUser()).id;
      bobId = (await bob.fetchUser()).id;
    });

    test("server info, API version, capabilities, user", async () => {
      const info = await alice.fetchServerInfo();
      assert.match(info.http_api_version, /^1\.\d+$/);
      assert.equal(await alice.fetchHTTPApiVersion(), info.http_api_version);
      assert.equal(info.url, `${PAWL_URL}/`, "hello url is the root URL with a trailing slash");
      assert.equal(typeof info.project_name, "string");
      assert.equal(typeof info.project_version, "string");

      const settings = await alice.fetchServerSettings();
      assert.equal(typeof settings.batch_max_requests, "number");
      assert.equal(settings.readonly, false);

      const caps = await alice.fetchServerCapabilities();
      assert.ok(caps.basicauth, `basicauth capability (got ${Object.keys(caps)})`);
      for (const [name, cap] of Object.entries(caps)) {
        assert.equal(typeof cap.description, "string", `capability ${name} has a description`);
        assert.equal(typeof cap.url, "string", `capability ${name} has a url`);
      }

      assert.match(aliceId, BASICAUTH_ID);
      assert.match(bobId, BASICAUTH_ID);
      assert.notEqual(aliceId, bobId);
      const user = await alice.fetchUser();
      assert.ok(user.principals.includes(aliceId));
      assert.ok(user.principals.includes("system.Authenticated"));
      assert.ok(user.principals.includes("system.Everyone"));

      // Same credentials, same id; another password, another user.
      const again = new KintoClient(PAWL_URL, { headers: basic("alice") });
      assert.equal((await again.fetchUser()).id, aliceId);
      const other = new KintoClient(PAWL_URL, { headers: basic("alice", "other") });
      assert.notEqual((await other.fetchUser()).id, aliceId);

      // Anonymous: no user in the hello view.
      const anon = await anonymous.fetchServerInfo();
      assert.equal(anon.user, undefined);
      assert.equal(await anonymous.fetchUser(), undefined);
    });

    test("accounts: create, log in, refused with a wrong password", async () => {
      const name = uniq(`account-${tag}`);
      const password = `pw-${RUN}-${tag}`;
      const caps = await anonymous.fetchServerCapabilities();
      assert.ok(caps.accounts, `accounts capability (got ${Object.keys(caps)})`);
      // kinto-http has createAccount (PUT /accounts/{id}, anonymous); kinto 15's copy does not.
      const created = typeof anonymous.createAccount === "function"
        ? await anonymous.createAccount(name, password)
        : await anonymous.execute({ method: "PUT", path: `/accounts/${name}`,
          headers: { "Content-Type": "application/json" }, body: { data: { password } } });
      assert.equal(created.data.id, name);
      assert.equal(created.data.password, undefined, "the password is never answered");

      const user = new KintoClient(PAWL_URL, { headers: basic(name, password) });
      assert.equal((await user.fetchUser()).id, `account:${name}`);
      const own = await user.execute({ method: "GET", path: `/accounts/${name}`,
        headers: basic(name, password) });
      assert.equal(own.data.id, name);
      assert.equal(JSON.stringify(own).includes(password), false);

      // A wrong password is not this account (basicauth, tried next, makes it another user).
      const wrong = new KintoClient(PAWL_URL, { headers: basic(name, "wrong") });
      assert.notEqual((await wrong.fetchUser()).id, `account:${name}`);
      await rejectsWith(wrong.execute({ method: "GET", path: `/accounts/${name}`,
        headers: basic(name, "wrong") }), 403, 121, "wrong password");
      await rejectsWith(anonymous.execute({ method: "GET", path: `/accounts/${name}`, headers: {} }),
        401, 104, "anonymous");
    });

    test("buckets, collections and groups: create, read, update, list, delete", async () => {
      const bid = uniq(`${tag}-crud`);
      const created = await alice.createBucket(bid, { data: { title: "CRUD" } });
      assert.equal(created.data.id, bid);
      assert.equal(created.data.title, "CRUD");
      assert.equal(typeof created.data.last_modified, "number");
      assert.deepEqual(created.permissions.write, [aliceId], "the creator is the writer");

      const bucket = alice.bucket(bid);
      assert.equal((await bucket.getData()).title, "CRUD");
      await bucket.setData({ title: "CRUD 2", extra: 1 }, { patch: true });
      const patched = await bucket.getData();
      assert.equal(patched.title, "CRUD 2");
      assert.equal(patched.extra, 1);
      await bucket.setData({ other: true }); // PUT: replaces
      const replaced = await bucket.getData();
      assert.equal(replaced.title, undefined);
      assert.equal(replaced.other, true);

      const { data: buckets } = await alice.listBuckets({ pages: Infinity });
      assert.ok(buckets.some((b) => b.id === bid), "the bucket is listed");

      // Collections
      const coll = await bucket.createCollection("notes", { data: { cache_expires: 0, kind: "n" } });
      assert.equal(coll.data.id, "notes");
      assert.equal(coll.data.kind, "n");
      const auto = await bucket.createCollection(); // server-generated id
      assert.match(auto.data.id, /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/);
      const { data: colls, last_modified: collsEtag } = await bucket.listCollections();
      assert.deepEqual(colls.map((c) => c.id).sort(), [auto.data.id, "notes"].sort());
      // getXTimestamp() hands back the raw ETag header (quoted); lists give it unquoted.
      assert.equal(await bucket.getCollectionsTimestamp(), `"${collsEtag}"`);
      assert.equal(colls[0].id, auto.data.id, "default order is -last_modified");
      await bucket.collection("notes").setData({ kind: "m" }, { patch: true });
      assert.equal((await bucket.collection("notes").getData()).kind, "m");
      await bucket.deleteCollection(auto.data.id);
      assert.deepEqual((await bucket.listCollections()).data.map((c) => c.id), ["notes"]);

      // Groups
      const group = await bucket.createGroup("friends", [bobId], { data: { title: "Friends" } });
      assert.deepEqual(group.data.members, [bobId]);
      assert.equal(group.data.title, "Friends");
      const got = await bucket.getGroup("friends");
      assert.deepEqual(got.data.members, [bobId]);
      await bucket.updateGroup({ id: "friends", members: [bobId, aliceId], title: "All" });
      const updated = await bucket.getGroup("friends");
      assert.deepEqual([...updated.data.members].sort(), [aliceId, bobId].sort());
      assert.equal(updated.data.title, "All");
      const { data: groups } = await bucket.listGroups();
      assert.deepEqual(groups.map((g) => g.id), ["friends"]);
      await bucket.deleteGroup("friends");
      assert.deepEqual((await bucket.listGroups()).data, []);

      // Deleting the bucket takes its children along.
      const del = await alice.deleteBucket(bid);
      assert.equal(del.data.deleted, true);
      assert.equal(del.data.id, bid);
      assert.ok(!(await alice.listBuckets({ pages: Infinity })).data.some((b) => b.id === bid));
      // Kinto: reading an unknown bucket without any right on it is 403 (not 404).
      await rejectsWith(alice.bucket(bid).getData(), 403, 121, "read a deleted bucket");
    });

    test("records: create, get, replace, patch, delete, filters, sort, fields", async () => {
      const bid = uniq(`${tag}-rec`);
      await alice.createBucket(bid);
      await alice.bucket(bid).createCollection("posts");
      const posts = alice.bucket(bid).collection("posts");

      const a = await posts.createRecord({ title: "A", n: 1, tags: ["x", "y"], meta: { lang: "en" } });
      assert.match(a.data.id, UUID4, "POST generates a UUID4");
      assert.equal(a.data.title, "A");
      assert.deepEqual(a.permissions.write, [aliceId]);
      const b = await posts.createRecord({ id: "post-b", title: "B", n: 2, tags: ["y"], meta: { lang: "fr" } });
      assert.equal(b.data.id, "post-b");
      const c = await posts.createRecord({ id: "post-c", title: "C", n: 3, tags: [], meta: { lang: "en" } });
      assert.ok(a.data.last_modified < b.data.last_modified && b.data.last_modified < c.data.last_modified);

      const got = await posts.getRecord(a.data.id);
      assert.deepEqual(got.data, a.data);
      const some = await posts.getRecord(a.data.id, { fields: ["title"] });
      assert.deepEqual(Object.keys(some.data).sort(), ["id", "last_modified", "title"]);

      // updateRecord replaces (PUT): fields not sent are gone.
      const replaced = await posts.updateRecord({ id: "post-b", title: "B2" });
      assert.equal(replaced.data.title, "B2");
      assert.equal(replaced.data.n, undefined);
      assert.ok(replaced.data.last_modified > c.data.last_modified);
      // patch: true merges (PATCH).
      const patched = await posts.updateRecord({ id: "post-b", n: 20 }, { patch: true });
      assert.equal(patched.data.title, "B2");
      assert.equal(patched.data.n, 20);

      assert.equal(await posts.getTotalRecords(), 3, "HEAD Total-Records");
      const { data: all, last_modified } = await posts.listRecords();
      assert.deepEqual(all.map((r) => r.id), ["post-b", "post-c", a.data.id], "-last_modified");
      assert.equal(last_modified, String(patched.data.last_modified), "list ETag = newest record");
      assert.equal(await posts.getRecordsTimestamp(), `"${last_modified}"`);

      const byN = await posts.listRecords({ sort: "n" });
      assert.deepEqual(byN.data.map((r) => r.n), [1, 3, 20]);
      const byTitleDesc = await posts.listRecords({ sort: "-title" });
      assert.deepEqual(byTitleDesc.data.map((r) => r.title), ["C", "B2", "A"]);

      const filtered = async (filters) =>
        (await posts.listRecords({ filters, sort: "n" })).data.map((r) => r.id);
      assert.deepEqual(await filtered({ "meta.lang": "en" }), [a.data.id, "post-c"]);
      assert.deepEqual(await filtered({ min_n: 3 }), ["post-c", "post-b"]);
      assert.deepEqual(await filtered({ in_n: [1, 20] }), [a.data.id, "post-b"]);
      assert.deepEqual(await filtered({ not_title: "A" }), ["post-c", "post-b"]);
      assert.deepEqual(await filtered({ like_title: "b*" }), ["post-b"]);
      assert.deepEqual(await filtered({ has_tags: true }), [a.data.id, "post-c"]);
      assert.deepEqual(await filtered({ contains_tags: "x" }), [a.data.id]);
      // contains_any_ takes a JSON list (the client would join an array with commas,
      // which is in_'s syntax, and Kinto would read "x,y" as one string).
      assert.deepEqual(await filtered({ contains_any_tags: '["x","y"]' }), [a.data.id]);
      assert.deepEqual(await filtered({ contains_tags: '["x","y"]' }), [a.data.id]);
      assert.deepEqual(await filtered({ contains_tags: '["y","z"]' }), []);

      const fields = await posts.listRecords({ fields: ["n"], sort: "n" });
      for (const r of fields.data) assert.deepEqual(Object.keys(r).sort(), ["id", "last_modified", "n"]);

      const del = await posts.deleteRecord("post-c");
      assert.deepEqual(Object.keys(del.data).sort(), ["deleted", "id", "last_modified"]);
      assert.equal(del.data.deleted, true);
      await rejectsWith(posts.getRecord("post-c"), 404, 110, "get a deleted record");
      await rejectsWith(posts.deleteRecord("post-c"), 404, 110, "delete a deleted record");
      assert.equal(await posts.getTotalRecords(), 2);

      // Recreating over a tombstone works.
      const again = await posts.createRecord({ id: "post-c", title: "C again" });
      assert.equal(again.data.title, "C again");
      assert.ok(again.data.last_modified > del.data.last_modified);

      // A record of a missing collection: 404 errno 111 naming the collection.
      const err = await rejectsWith(
        alice.bucket(bid).collection("nope").getRecord("x"), 404, 111, "record of a missing collection");
      assert.deepEqual(err.data.details, { id: "nope", resource_name: "collection" });
      // An id that is not valid: 400 errno 107.
      await rejectsWith(posts.getRecord("no spaces allowed"), 400, 107, "invalid record id");

      // deleteRecords: DELETE on the list, with a filter.
      const gone = await posts.deleteRecords({ filters: { title: "C again" } });
      assert.deepEqual(gone.data.map((r) => [r.id, r.deleted]), [["post-c", true]]);
      assert.equal(await posts.getTotalRecords(), 2);
    });

    test("safe operations: the client raises on 412", async () => {
      const bid = uniq(`${tag}-safe`);
      await alice.createBucket(bid);
      await alice.bucket(bid).createCollection("c");
      const coll = alice.bucket(bid).collection("c");
      const v1 = (await coll.createRecord({ id: "doc", v: 1 })).data;

      // safe create of an existing id: If-None-Match: * -> 412.
      let err = await rejectsWith(coll.createRecord({ id: "doc", v: 0 }, { safe: true }), 412, 114, "safe create");
      assert.equal(err.data.details.existing.v, 1);

      const v2 = (await coll.updateRecord({ ...v1, v: 2 }, { safe: true })).data; // If-Match: "<v1>"
      assert.equal(v2.v, 2);
      assert.ok(v2.last_modified > v1.last_modified);

      // Someone else's copy is stale now: safe update and safe delete are refused.
      err = await rejectsWith(coll.updateRecord({ ...v1, v: 3 }, { safe: true }), 412, 114, "stale update");
      assert.equal(err.data.details.existing.v, 2, "412 carries the current object");
      assert.equal(err.data.details.existing.last_modified, v2.last_modified);
      assert.equal(err.response.headers.get("ETag"), `"${v2.last_modified}"`);
      await rejectsWith(coll.updateRecord({ ...v1, v: 3 }, { safe: true, patch: true }), 412, 114, "stale patch");
      await rejectsWith(
        coll.deleteRecord("doc", { safe: true, last_modified: v1.last_modified }), 412, 114, "stale delete");
      assert.equal((await coll.getRecord("doc")).data.v, 2, "nothing was written");

      // Not safe: last writer wins.
      await coll.updateRecord({ ...v1, v: 4 });
      const cur = (await coll.getRecord("doc")).data;
      assert.equal(cur.v, 4);
      // safe with the current timestamp succeeds.
      const del = await coll.deleteRecord("doc", { safe: true, last_modified: cur.last_modified });
      assert.equal(del.data.deleted, true);

      // safe also applies to buckets and collections.
      const meta = await alice.bucket(bid).collection("c").getData();
      await alice.bucket(bid).collection("c").setData({ x: 1 }, { safe: true, last_modified: meta.last_modified });
      await rejectsWith(
        alice.bucket(bid).collection("c").setData({ x: 2 }, { safe: true, last_modified: meta.last_modified }),
        412, 114, "stale collection update");
      await rejectsWith(alice.createBucket(bid, { safe: true }), 412, 114, "safe create of an existing bucket");
    });

    test("pagination: limit, next(), pages, Infinity, sort with ties", async () => {
      const bid = uniq(`${tag}-pages`);
      await alice.createBucket(bid);
      await alice.bucket(bid).createCollection("many");
      const coll = alice.bucket(bid).collection("many");
      const N = 23;
      const created = [];
      for (let i = 0; i < N; i++) {
        created.push((await coll.createRecord({ id: `r${String(i).padStart(2, "0")}`, i, rank: i % 4 })).data);
      }
      const newestFirst = created.map((r) => r.id).reverse();

      const p1 = await coll.listRecords({ limit: 5 });
      assert.equal(p1.data.length, 5);
      assert.equal(p1.hasNextPage, true);
      assert.deepEqual(p1.data.map((r) => r.id), newestFirst.slice(0, 5));
      const p2 = await p1.next();
      assert.deepEqual(p2.data.map((r) => r.id), newestFirst.slice(5, 10));
      assert.equal(p2.last_modified, p1.last_modified, "every page has the list ETag");

      const three = await coll.listRecords({ limit: 5, pages: 3 });
      assert.deepEqual(three.data.map((r) => r.id), newestFirst.slice(0, 15));
      assert.equal(three.hasNextPage, true);
      // next() after `pages` goes on accumulating: one more page, added to the rest.
      const more = await three.next();
      assert.deepEqual(more.data.map((r) => r.id), newestFirst.slice(0, 20));

      const everything = await coll.listRecords({ limit: 4, pages: Infinity });
      assert.deepEqual(everything.data.map((r) => r.id), newestFirst);
      assert.equal(everything.hasNextPage, false);

      // A page size dividing the total: the last full page has no Next-Page
      // beyond the end, or a next page that is empty; either way nothing is lost.
      const exact = await coll.listRecords({ limit: 23, pages: Infinity });
      assert.deepEqual(exact.data.map((r) => r.id), newestFirst);

      // Sorting on a field with ties: -last_modified breaks them, across pages.
      const expected = [...created]
        .sort((x, y) => x.rank - y.rank || y.last_modified - x.last_modified)
        .map((r) => r.id);
      const ranked = await coll.listRecords({ sort: "rank", limit: 3, pages: Infinity });
      assert.deepEqual(ranked.data.map((r) => r.id), expected);
      const desc = await coll.listRecords({ sort: "-rank,i", limit: 6, pages: Infinity });
      assert.deepEqual(desc.data.map((r) => r.id),
        [...created].sort((x, y) => y.rank - x.rank || x.i - y.i).map((r) => r.id));

      // Filters and pagination together.
      const odd = await coll.listRecords({ filters: { in_rank: [1, 3] }, sort: "i", limit: 2, pages: Infinity });
      assert.deepEqual(odd.data.map((r) => r.i), created.filter((r) => r.rank % 2 === 1).map((r) => r.i));
    });

    test("since: sync with tombstones", async () => {
      const bid = uniq(`${tag}-since`);
      await alice.createBucket(bid);
      await alice.bucket(bid).createCollection("c");
      const coll = alice.bucket(bid).collection("c");
      for (const id of ["keep", "edit", "drop"]) await coll.createRecord({ id, v: 1 });

      const first = await coll.listRecords();
      const etag = first.last_modified;
      assert.equal(typeof etag, "string");
      assert.deepEqual(first.data.map((r) => r.id).sort(), ["drop", "edit", "keep"]);

      // Nothing changed: an empty page, same ETag.
      const none = await coll.listRecords({ since: etag });
      assert.deepEqual(none.data, []);
      assert.equal(none.last_modified, etag);

      await coll.updateRecord({ id: "edit", v: 2 });
      const dropped = (await coll.deleteRecord("drop")).data;
      await coll.createRecord({ id: "new", v: 1 });

      const changes = await coll.listRecords({ since: etag });
      const byId = Object.fromEntries(changes.data.map((r) => [r.id, r]));
      assert.deepEqual(Object.keys(byId).sort(), ["drop", "edit", "new"]);
      assert.deepEqual(byId.drop, { id: "drop", last_modified: dropped.last_modified, deleted: true });
      assert.equal(byId.edit.v, 2);
      assert.ok(changes.data.every((r) => r.last_modified > Number(etag)));
      assert.equal(await coll.getRecordsTimestamp(), `"${changes.last_modified}"`);
      assert.ok(Number(changes.last_modified) > Number(etag));

      // The same changes, one per page.
      const paged = await coll.listRecords({ since: etag, limit: 1, pages: Infinity });
      assert.deepEqual(paged.data, changes.data);

      // Only deletions.
      const deletions = await coll.listRecords({ since: etag, filters: { deleted: true } });
      assert.deepEqual(deletions.data.map((r) => r.id), ["drop"]);

      // Without since, tombstones are not listed.
      const live = await coll.listRecords();
      assert.deepEqual(live.data.map((r) => r.id).sort(), ["edit", "keep", "new"]);

      // Catching up from the latest ETag gives nothing again.
      assert.deepEqual((await coll.listRecords({ since: changes.last_modified })).data, []);
    });

    test("batch with aggregated results", async (t) => {
      if (!HAS_BATCH) {
        t.skip("POST /v1/batch is not served by this pawl (404)");
        return;
      }
      const bid = uniq(`${tag}-batch`);
      // A batch at the client level: bucket + collection + records in one request.
      const setup = await alice.batch((batch) => {
        batch.createBucket(bid);
        batch.bucket(bid).createCollection("c");
        batch.bucket(bid).collection("c").createRecord({ id: "one", v: 1 });
        batch.bucket(bid).collection("c").createRecord({ id: "two", v: 1 });
      });
      assert.deepEqual(setup.map((r) => r.status), [201, 201, 201, 201]);
      assert.equal(setup[0].path, `/v1/buckets/${bid}`);
      assert.equal(setup[2].body.data.id, "one");

      const coll = alice.bucket(bid).collection("c");
      const one = (await coll.getRecord("one")).data;
      const two = (await coll.getRecord("two")).data;
      await coll.updateRecord({ ...one, v: 2 }); // "one" is now newer than `one`

      const result = await coll.batch((batch) => {
        batch.createRecord({ id: "three", v: 1 });
        batch.updateRecord({ ...two, v: 2 }); // If-Match: current timestamp
        batch.updateRecord({ ...one, v: 3 }); // stale: conflict
        batch.deleteRecord({ id: "missing", last_modified: one.last_modified }); // 404: skipped
        batch.createRecord({ id: "bad id!" }); // 400: error
      }, { aggregate: true, safe: true });
      assert.deepEqual(result.published.map((r) => r.data.id).sort(), ["three", "two"]);
      assert.equal(result.conflicts.length, 1);
      assert.equal(result.conflicts[0].type, "outgoing");
      assert.equal(result.conflicts[0].remote.id, "one");
      assert.equal(result.conflicts[0].remote.v, 2);
      assert.equal(result.conflicts[0].local.data.v, 3);
      assert.deepEqual(result.skipped.map((s) => s.id), ["missing"]);
      assert.equal(result.errors.length, 1);
      assert.equal(result.errors[0].error.errno, 107);
      assert.equal((await coll.getRecord("one")).data.v, 2, "the conflicting write did not happen");
      assert.equal((await coll.getRecord("three")).data.v, 1, "4xx sub-responses do not roll back");

      // More sub-requests than batch_max_requests: the client splits them.
      const max = (await alice.fetchServerSettings()).batch_max_requests;
      const count = max + 5;
      const big = await coll.batch((batch) => {
        for (let i = 0; i < count; i++) batch.createRecord({ id: `bulk${i}`, i });
      }, { aggregate: true });
      assert.equal(big.published.length, count);
      assert.equal(big.errors.length + big.conflicts.length + big.skipped.length, 0);
      const { data } = await coll.listRecords({ filters: { has_i: true }, limit: 10, pages: Infinity });
      assert.equal(data.length, count);

      // Mixed resources with a batch at the bucket level.
      const mixed = await alice.bucket(bid).batch((batch) => {
        batch.createCollection("d");
        batch.createGroup("g", [bobId]);
        batch.collection("d").createRecord({ id: "x" });
      }, { aggregate: true });
      assert.equal(mixed.published.length, 3);
      assert.deepEqual((await alice.bucket(bid).getGroup("g")).data.members, [bobId]);
    });

    test("the personal default bucket: implicit bucket and collections", async (t) => {
      if (!(await alice.fetchServerCapabilities()).default_bucket) {
        t.skip("the server has no default_bucket capability");
        return;
      }
      const { bucket: aliceBucket } = await alice.fetchUser();
      assert.match(aliceBucket, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.notEqual((await bob.fetchUser()).bucket, aliceBucket);
      const mine = alice.bucket("default");

      // Records in a collection nobody created: both are created on the fly.
      const c1 = uniq(`${tag}-def1`);
      const rec = await mine.collection(c1).createRecord({ title: "implicit" });
      assert.equal(rec.data.title, "implicit");
      assert.deepEqual((await mine.collection(c1).listRecords()).data.map((r) => r.id), [rec.data.id]);
      // The same objects under the real bucket id.
      assert.equal((await alice.bucket(aliceBucket).collection(c1).getRecord(rec.data.id)).data.title, "implicit");
      assert.equal((await mine.getData()).id, aliceBucket);

      // Listing an unknown collection's records creates it (empty list).
      const c2 = uniq(`${tag}-def2`);
      assert.deepEqual((await mine.collection(c2).listRecords()).data, []);
      // Reading an unknown collection's metadata creates it too (Kinto's
      // default_bucket plugin creates the collection for any request under
      // /buckets/default/collections/<id> but a PUT of it).
      const c3 = uniq(`${tag}-def3`);
      const meta = await mine.collection(c3).getData();
      assert.equal(meta.id, c3);

      // Anonymous callers have no default bucket: 401.
      await rejectsWith(anonymous.bucket("default").collection(c1).listRecords(), 401, 104, "anonymous default");
      // bob's default bucket is his own.
      assert.deepEqual((await bob.bucket("default").collection(c1).listRecords()).data, []);
    });

    // --- permissions -------------------------------------------------------
    // alice owns a bucket with a collection "secret" of two records; bob is a
    // second authenticated user, `anonymous` sends no credentials.
    async function privateBucket(name) {
      const bid = uniq(`${tag}-${name}`);
      await alice.createBucket(bid, { data: { private: true } });
      await alice.bucket(bid).createCollection("secret");
      const secret = alice.bucket(bid).collection("secret");
      await secret.createRecord({ id: "s1", text: "top secret" });
      await secret.createRecord({ id: "s2", text: "also secret" });
      return { bid, bucket: alice.bucket(bid), secret, bobSecret: bob.bucket(bid).collection("secret") };
    }

    test("permissions: another user gets 403, anonymous 401", async () => {
      const { bid } = await privateBucket("deny");
      const bobs = bob.bucket(bid);
      await rejectsWith(bobs.getData(), 403, 121, "bob reads the bucket");
      await rejectsWith(bobs.setData({ taken: true }), 403, 121, "bob overwrites the bucket");
      await rejectsWith(bobs.listCollections(), 403, 121, "bob lists collections");
      await rejectsWith(bobs.createCollection("mine"), 403, 121, "bob creates a collection");
      await rejectsWith(bobs.collection("secret").listRecords(), 403, 121, "bob lists");
      await rejectsWith(bobs.collection("secret").getRecord("s1"), 403, 121, "bob reads");
      await rejectsWith(bobs.collection("secret").updateRecord({ id: "s1", text: "mine" }), 403, 121, "bob writes");
      await rejectsWith(bobs.collection("secret").updateRecord({ id: "s1", text: "mine" }, { patch: true }),
        403, 121, "bob patches");
      await rejectsWith(bobs.collection("secret").createRecord({ text: "spam" }), 403, 121, "bob creates");
      await rejectsWith(bobs.collection("secret").deleteRecord("s1"), 403, 121, "bob deletes");
      await rejectsWith(bobs.collection("secret").getRecord("nope"), 403, 121, "bob probes a missing record");
      assert.ok(!(await bob.listBuckets({ pages: Infinity })).data.some((b) => b.id === bid),
        "bob does not see the bucket");

      const anon = anonymous.bucket(bid);
      const err = await rejectsWith(anon.collection("secret").listRecords(), 401, 104, "anonymous lists");
      assert.match(err.response.headers.get("WWW-Authenticate") || "", /^Basic/);
      await rejectsWith(anon.getData(), 401, 104, "anonymous reads the bucket");
      await rejectsWith(anon.collection("secret").createRecord({ x: 1 }), 401, 104, "anonymous writes");
      await rejectsWith(anonymous.createBucket(uniq(`${tag}-anon`)), 401, 104, "anonymous creates a bucket");

      // Nothing was changed by all that.
      assert.deepEqual((await alice.bucket(bid).collection("secret").listRecords({ sort: "id" }))
        .data.map((r) => [r.id, r.text]), [["s1", "top secret"], ["s2", "also secret"]]);
    });

    test("permissions: setPermissions grants read; read is not write", async () => {
      const { bid, secret, bobSecret } = await privateBucket("grant");
      const res = await secret.setPermissions({ read: [bobId] });
      assert.deepEqual(res.permissions.read, [bobId]);
      assert.deepEqual(res.permissions.write, [aliceId], "the caller stays a writer");
      const perms = await secret.getPermissions();
      assert.deepEqual(perms.read, [bobId]);
      assert.deepEqual(perms.write, [aliceId]);

      const seen = await bobSecret.listRecords({ sort: "id" });
      assert.deepEqual(seen.data.map((r) => r.id), ["s1", "s2"]);
      const s1 = await bobSecret.getRecord("s1");
      assert.equal(s1.data.text, "top secret");
      assert.deepEqual(s1.permissions, {}, "Kinto shows an object's permissions only to its writers");
      assert.equal((await bobSecret.getData()).id, "secret", "bob reads the collection");
      await rejectsWith(bobSecret.updateRecord({ id: "s1", text: "mine" }), 403, 121, "bob writes with read");
      await rejectsWith(bobSecret.createRecord({ text: "spam" }), 403, 121, "bob creates with read");
      await rejectsWith(bob.bucket(bid).getData(), 403, 121, "the bucket stays closed");
      assert.deepEqual((await bob.bucket(bid).listCollections()).data.map((c) => c.id), ["secret"],
        "bob's collection list is filtered to what he may read");
      await rejectsWith(anonymous.bucket(bid).collection("secret").listRecords(), 401, 104, "anonymous");

      // Replacing the permissions drops bob again.
      await secret.setPermissions({ read: [] });
      await rejectsWith(bobSecret.listRecords(), 403, 121, "bob lists after the grant is gone");

      // system.Authenticated / system.Everyone
      await secret.setPermissions({ read: ["system.Authenticated"] });
      assert.equal((await bobSecret.listRecords()).data.length, 2);
      await rejectsWith(anonymous.bucket(bid).collection("secret").listRecords(), 401, 104, "anonymous");
      await secret.setPermissions({ read: ["system.Everyone"] });
      assert.equal((await anonymous.bucket(bid).collection("secret").listRecords()).data.length, 2);

      // Bucket-level read reaches everything below.
      await secret.setPermissions({});
      await alice.bucket(bid).setPermissions({ read: [bobId] });
      assert.equal((await bob.bucket(bid).getData()).private, true);
      assert.equal((await bobSecret.listRecords()).data.length, 2);
      await rejectsWith(bobSecret.deleteRecord("s1"), 403, 121, "bob deletes with bucket read");
    });

    test("permissions: addPermissions / removePermissions (JSON-Patch on permissions)", async () => {
      const { secret, bobSecret } = await privateBucket("patch");
      await secret.addPermissions({ read: [bobId] });
      assert.deepEqual((await secret.getPermissions()).read, [bobId]);
      assert.deepEqual((await bobSecret.listRecords({ sort: "id" })).data.map((r) => r.id), ["s1", "s2"]);
      await secret.addPermissions({ write: [bobId] });
      assert.deepEqual([...(await secret.getPermissions()).write].sort(), [aliceId, bobId].sort());
      const bobWrote = await bobSecret.updateRecord({ id: "s1", text: "bob was here" });
      assert.equal(bobWrote.data.text, "bob was here");
      await secret.removePermissions({ write: [bobId], read: [bobId] });
      const perms = await secret.getPermissions();
      assert.deepEqual(perms.write, [aliceId]);
      assert.ok(!perms.read || perms.read.length === 0, `read is empty (got ${JSON.stringify(perms.read)})`);
      // Writing s1 made bob one of its writers (Kinto's explicit_permissions),
      // so with the collection's grants gone he still sees s1, and only s1.
      assert.deepEqual((await bobSecret.listRecords()).data.map((r) => r.id), ["s1"],
        "bob lists after removal: only the record he wrote");
      await rejectsWith(bobSecret.getRecord("s2"), 403, 121, "bob reads s2 after removal");
    });

    test("permissions: record-level grants filter the list", async () => {
      const { bid, bucket } = await privateBucket("records");
      await bucket.createCollection("mixed");
      const mixed = bucket.collection("mixed");
      await mixed.createRecord({ id: "hidden" });
      await mixed.createRecord({ id: "readable" }, { permissions: { read: [bobId] } });
      const shared = await mixed.createRecord({ id: "shared" }, { permissions: { write: [bobId] } });
      assert.deepEqual([...shared.permissions.write].sort(), [aliceId, bobId].sort());
      const bobMixed = bob.bucket(bid).collection("mixed");
      assert.deepEqual((await bobMixed.listRecords({ sort: "id" })).data.map((r) => r.id), ["readable", "shared"],
        "the list is filtered to what bob may read");
      const bobWrote = await bobMixed.updateRecord({ id: "shared", by: "bob" });
      assert.equal(bobWrote.data.by, "bob");
      assert.deepEqual([...bobWrote.permissions.write].sort(), [aliceId, bobId].sort());
      await rejectsWith(bobMixed.updateRecord({ id: "readable", by: "bob" }), 403, 121, "bob writes a readable record");
      await rejectsWith(bobMixed.getRecord("hidden"), 403, 121, "bob reads the hidden record");
      // Permissions are replaced by an update that names them (the writer stays).
      await mixed.updateRecord({ id: "readable" }, { permissions: { read: [] } });
      assert.deepEqual((await bobMixed.listRecords({ sort: "id" })).data.map((r) => r.id), ["shared"]);
    });

    test("history: bucket.listHistory() as Kinto's history plugin serves it", async () => {
      const caps = await alice.fetchServerCapabilities();
      assert.ok(caps.history, `history capability (got ${Object.keys(caps)})`);
      const { bid, bucket } = await privateBucket("history");
      await bucket.createCollection("posts");
      await bucket.createCollection("shared", { permissions: { read: [bobId] } });
      const posts = bucket.collection("posts");
      const created = await posts.createRecord({ title: "first" });
      await posts.updateRecord({ ...created.data, title: "second" });
      await posts.deleteRecord(created.data.id);
      await bucket.collection("shared").createRecord({ id: "s1", title: "for bob" });

      const all = await bucket.listHistory({ pages: Infinity });
      const uri = `/buckets/${bid}/collections/posts/records/${created.data.id}`;
      const mine = all.data.filter((e) => e.uri === uri);
      assert.deepEqual(mine.map((e) => e.action), ["delete", "update", "create"], "newest first");
      for (const e of mine) {
        assert.equal(e.resource_name, "record");
        assert.equal(e.collection_id, "posts");
        assert.equal(e.record_id, created.data.id);
        assert.equal(e.user_id, aliceId);
        assert.equal(e.target.data.id, created.data.id);
        assert.match(e.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
      }
      assert.equal(mine[1].target.data.title, "second");
      assert.equal(mine[0].target.data.deleted, true);
      assert.ok(all.data.some((e) => e.resource_name === "bucket" && e.bucket_id === bid));

      // Filters, sort, since and pages go through the client's usual options.
      const records = await bucket.listHistory({ filters: { resource_name: "record" } });
      assert.equal(records.data.length, 6, "privateBucket's 2, posts' 3, shared's 1");
      const since = await bucket.listHistory({ since: String(mine[1].last_modified) });
      assert.deepEqual(since.data.map((e) => e.action), ["create", "delete"]);
      const paged = await bucket.listHistory({ limit: 2, pages: Infinity, sort: "last_modified" });
      assert.equal(paged.data.length, all.data.length, "every page followed");
      assert.deepEqual(paged.data.map((e) => e.id), all.data.map((e) => e.id).reverse());

      // bob sees the entries of what he may read; a stranger nothing.
      const bobs = await bob.bucket(bid).listHistory();
      assert.deepEqual(bobs.data.map((e) => e.uri).sort(),
        [`/buckets/${bid}/collections/shared`, `/buckets/${bid}/collections/shared/records/s1`]);
      const carol = new KintoClient(PAWL_URL, { headers: basic("carol") });
      await rejectsWith(carol.bucket(bid).listHistory(), 403, 121, "a stranger's history");
      await rejectsWith(anonymous.bucket(bid).listHistory(), 401, 104, "anonymous history");
    });

    test("listPermissions(): the caller's objects and what they hold there", async () => {
      const caps = await alice.fetchServerCapabilities();
      assert.ok(caps.permissions_endpoint, `permissions_endpoint capability (got ${Object.keys(caps)})`);
      const { bid, bucket } = await privateBucket("listperms");
      await bucket.createCollection("shared", { permissions: { read: [bobId] } });
      await bucket.collection("shared").createRecord({ id: "r1" });

      const mine = await alice.listPermissions({ filters: { bucket_id: bid }, pages: Infinity });
      const byUri = Object.fromEntries(mine.data.map((e) => [e.uri, e]));
      const b0 = `/buckets/${bid}`;
      assert.deepEqual(Object.keys(byUri).sort(), [b0, `${b0}/collections/secret`,
        `${b0}/collections/secret/records/s1`, `${b0}/collections/secret/records/s2`,
        `${b0}/collections/shared`, `${b0}/collections/shared/records/r1`]);
      const b = byUri[`/buckets/${bid}`];
      assert.equal(b.resource_name, "bucket");
      assert.equal(b.bucket_id, bid);
      assert.deepEqual([...b.permissions].sort(),
        ["collection:create", "group:create", "read", "read:attributes", "write"]);
      const r = byUri[`/buckets/${bid}/collections/shared/records/r1`];
      assert.deepEqual([r.bucket_id, r.collection_id, r.record_id, r.id], [bid, "shared", "r1", "r1"]);

      // Kinto Admin's query: no records nor groups, a page limit followed by the client.
      const admin = await alice.listPermissions({ filters: { exclude_resource_name: "record,group" },
        limit: 1, pages: Infinity });
      assert.ok(admin.data.every((e) => e.resource_name !== "record" && e.resource_name !== "group"));
      assert.ok(admin.data.some((e) => e.uri === `/buckets/${bid}`), "every page followed");

      // bob: the collection he was given, nothing else of alice's; anonymous: nothing of hers.
      const bobs = await bob.listPermissions({ filters: { bucket_id: bid } });
      assert.deepEqual(bobs.data.map((e) => [e.uri, [...e.permissions].sort()]),
        [[`/buckets/${bid}/collections/shared`, ["read", "read:attributes"]]]);
      const anon = await anonymous.listPermissions({ filters: { bucket_id: bid } });
      assert.deepEqual(anon.data, []);
    });

    test("permissions: group members get what the group is granted", async () => {
      const { bid, bucket } = await privateBucket("groups");
      await bucket.createGroup("editors", [bobId]);
      const groupUri = `/buckets/${bid}/groups/editors`;
      await bucket.setPermissions({ "collection:create": [groupUri] });
      const bperms = await bucket.getPermissions();
      assert.deepEqual(bperms["collection:create"], [groupUri]);
      assert.deepEqual(bperms.write, [aliceId]);
      assert.ok((await bob.fetchUser()).principals.includes(groupUri), "bob's principals name the group");

      const bobs = await bob.bucket(bid).createCollection("bobs");
      assert.deepEqual(bobs.permissions.write, [bobId], "bob owns what he created");
      const bobRecord = await bob.bucket(bid).collection("bobs").createRecord({ mine: true });
      assert.equal(bobRecord.data.mine, true);
      assert.equal((await bucket.collection("bobs").listRecords()).data.length, 1,
        "alice, bucket writer, reads everything in it");
      await rejectsWith(bob.bucket(bid).createGroup("mine"), 403, 121, "bob creates a group");
      await rejectsWith(bob.bucket(bid).collection("secret").listRecords(), 403, 121, "bob reads secret");

      // Out of the group, out of the grant.
      await bucket.updateGroup({ id: "editors", members: [] });
      await rejectsWith(bob.bucket(bid).createCollection("more"), 403, 121, "bob after leaving the group");
    });
  });
}
