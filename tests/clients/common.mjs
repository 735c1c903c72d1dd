// Shared helpers of the client tests: the server URL, users, unique names and
// assertions on the clients' HTTP errors. Runs on Node 18 and 20.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

// The server root, with the version, e.g. http://127.0.0.1:8888/v1 (no trailing
// slash). Required: the tests write to the server, so they never guess one (a
// developer's `make run` stack listens on 8888).
if (!process.env.PAWL_URL) {
  throw new Error("PAWL_URL is not set: use tests/clients/run, or set it to a pawl stack of your own " +
    "(e.g. PAWL_URL=http://127.0.0.1:8888/v1)");
}
export const PAWL_URL = process.env.PAWL_URL.replace(/\/+$/, "");

// Every name a test creates carries this suffix, so the files can run again and
// again against one long-lived stack without clashing with earlier runs.
export const RUN = randomBytes(4).toString("hex");
export const uniq = (prefix) => `${prefix}-${RUN}`;

// Basic auth headers of a user (Kinto's basicauth: any user:password is an identity).
export function basic(user, password = `${user}-secret`) {
  return { Authorization: "Basic " + Buffer.from(`${user}:${password}`).toString("base64") };
}

// The kinto-http clients raise an Error carrying the fetch Response as .response
// and the parsed JSON error body as .data. Asserts that `promise` rejects with an
// HTTP error of that status and errno; returns the error for further checks.
export async function rejectsWith(promise, status, errno, what = "") {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: expected HTTP ${status} (errno ${errno}), but the call succeeded`);
  assert.ok(err.response, `${what}: expected an HTTP error, got ${err.stack || err}`);
  const got = `${err.response.status} errno ${err.data && err.data.errno}`;
  assert.equal(err.response.status, status, `${what}: HTTP status (got ${got}: ${err.message})`);
  if (errno !== undefined) {
    assert.ok(err.data, `${what}: the error has no JSON body`);
    assert.equal(err.data.errno, errno, `${what}: errno (got ${got}: ${err.message})`);
    assert.equal(err.data.code, status, `${what}: "code" of the error body`);
  }
  return err;
}

// Whether POST /v1/batch is served. Probed with a plain request (the clients have
// no way to ask); Kinto answers {"responses": []} to an empty batch.
export async function batchAvailable() {
  const res = await fetch(`${PAWL_URL}/batch`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ requests: [] }),
  });
  await res.arrayBuffer();
  return res.status === 200;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
