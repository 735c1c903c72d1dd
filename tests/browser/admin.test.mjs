// Kinto Admin, served by pawl's nginx at /v1/admin/, used as a person uses it
// in Debian's headless Chromium (puppeteer-core drives it over the DevTools
// protocol): sign in with Basic Auth, create a bucket, a collection and a
// record through the forms, see the record in the list, edit it, read the
// changes back through the HTTP API, look at the history tab; then sign in
// with a Kinto account and see that account's data. A screenshot of each step
// goes to BROWSER_OUT (NN-step.png).
//
// Environment: PAWL_URL (the stack's http://127.0.0.1:PORT/v1), BROWSER_OUT
// (the screenshots' folder), CHROMIUM (default /usr/lib/chromium/chromium,
// Debian's binary).
// tests/browser/run starts the stack and sets them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import puppeteer from "puppeteer-core";

const URL_V1 = process.env.PAWL_URL;
const OUT = process.env.BROWSER_OUT;
if (!URL_V1 || !OUT) throw new Error("PAWL_URL and BROWSER_OUT must be set (tests/browser/run)");
const ORIGIN = new URL(URL_V1).origin;
const ADMIN = `${URL_V1}/admin/`;
const NETLOG = path.join(OUT, "chromium-netlog.json");
const STEP_MS = 15000; // what one step may wait for the page

// Names of this run, so that a kept state folder can be run against again.
const RUN = Date.now().toString(36);
const BUCKET = `shop-${RUN}`;
const COLLECTION = "products";
const ALICE = { user: "alice", password: "alice-pass" };
const CAROL = { user: `carol-${RUN}`, password: "carol-secret-pass" };

let browser;
let page;
let step = 0;
const offsite = []; // requests the page made outside the stack's origin
const pageErrors = [];

// Chromium must reach nothing beyond loopback. It is started as Debian's
// binary itself, not through /usr/bin/chromium, whose /etc/chromium.d adds
// Google API keys (which switch on sign-in, password leak checks and more)
// and extension flags. Its own flags below switch off background networking,
// component and extension updates, sync, metrics and network time; the
// Google service URLs it still knows point at a closed loopback port; every
// host name but 127.0.0.1 fails to resolve and any other destination goes
// to a closed proxy port. The net log, checked at the end, records what it tried.
// --no-sandbox: Chromium's sandbox refuses to run as root, which CI is; the
// page it loads is this repository's build, against a private stack.
const DEAD = "http://127.0.0.1:9"; // the discard port: nothing listens there
const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-component-extensions-with-background-pages",
  "--disable-sync",
  "--disable-breakpad",
  "--disable-crash-reporter",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--disable-search-engine-choice-screen",
  "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider," +
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater," +
    "NetworkTimeServiceQuerying,PasswordLeakDetection,SafeBrowsingEnhancedProtection",
  "--metrics-recording-only",
  "--safebrowsing-disable-auto-update",
  "--no-pings",
  "--password-store=basic",
  "--use-mock-keychain",
  "--hide-scrollbars",
  "--mute-audio",
  "--force-color-profile=srgb",
  `--gaia-url=${DEAD}`,
  `--lso-url=${DEAD}`,
  `--google-apis-url=${DEAD}`,
  `--google-base-url=${DEAD}`,
  `--variations-server-url=${DEAD}`,
  `--component-updater=url-source=${DEAD}`,
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
  "--proxy-server=127.0.0.1:9",
  `--log-net-log=${NETLOG}`,
  "--lang=en-US",
];

// The profile: no password manager (it would offer to save the sign-in and
// check the password against Google's leak list), no sign-in to Google, no
// spell checking (typing in a text area downloads a dictionary).
const PREFERENCES = {
  credentials_enable_service: false,
  profile: { password_manager_enabled: false, password_manager_leak_detection: false },
  signin: { allowed: false },
  safebrowsing: { enabled: false },
  browser: { check_default_browser: false, enable_spellchecking: false },
  spellcheck: { dictionaries: [], dictionary: "", use_spelling_service: false },
};

async function api(method, urlPath, { auth = ALICE, body } = {}) {
  const headers = {};
  if (auth) headers.Authorization = "Basic " + Buffer.from(`${auth.user}:${auth.password}`).toString("base64");
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${URL_V1}${urlPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// The screenshots leave out the notifications (the tests wait for their text
// first): they pile up over the page. Hidden, not closed: closing one redraws
// the page, emptying a form being filled, and waits for an animation.
const HIDE_NOTIFICATIONS = ".notifications { display: none !important; }";

async function shot(name) {
  step += 1;
  const file = path.join(OUT, `${String(step).padStart(2, "0")}-${name}.png`);
  const style = await page.addStyleTag({ content: HIDE_NOTIFICATIONS });
  await page.screenshot({ path: file, fullPage: false });
  await style.evaluate((e) => e.remove());
  return file;
}

// Waits until the page shows TEXT (in the visible text of SELECTOR).
async function waitText(text, selector = "body") {
  try {
    await page.waitForFunction(
      (s, t) => Array.from(document.querySelectorAll(s)).some((e) => e.innerText.includes(t)),
      { timeout: STEP_MS },
      selector,
      text,
    );
  } catch (e) {
    await shot("failed-waiting");
    const seen = await page.evaluate(() => document.body.innerText.slice(0, 1500));
    throw new Error(`"${text}" never appeared in ${selector}; the page shows:\n${seen}`);
  }
}

// Clicks the button or link whose text is TEXT.
async function click(text, selector = "button, a") {
  const handle = await page.waitForFunction(
    (s, t) => Array.from(document.querySelectorAll(s)).find((e) => e.innerText.trim() === t),
    { timeout: STEP_MS },
    selector,
    text,
  );
  // The DOM's click, not the mouse's: the app's notifications may lie over
  // the element's middle for a while.
  await handle.asElement().evaluate((e) => e.click());
}

async function type(selector, text) {
  await page.waitForSelector(selector, { visible: true, timeout: STEP_MS });
  await page.focus(selector);
  await page.keyboard.down("Control");
  await page.keyboard.press("KeyA");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  await page.type(selector, text);
}

async function signIn(method, { user, password }) {
  // A fresh start: the admin keeps its session in the page's storage.
  await page.goto(ADMIN, { waitUntil: "networkidle0" });
  await page.evaluate(() => {
    localStorage.clear();
    sessionStorage.clear();
  });
  await page.reload({ waitUntil: "networkidle0" });
  await waitText("Authentication method");
  const label = method === "basicauth" ? "Basic Auth" : "Kinto Account Auth";
  await page.click(`input[type=radio][value=${method}]`);
  await waitText(`Sign in using ${label}`);
  await type("#root_credentials_username", user);
  await type("#root_credentials_password", password);
  await shot(`sign-in-${method}`);
  await click(`Sign in using ${label}`, "button");
}

async function signOut() {
  await click("Logout");
  await waitText("Authentication method");
}

before(async () => {
  const profile = path.join(OUT, "chromium-profile");
  await mkdir(path.join(profile, "Default"), { recursive: true });
  await writeFile(path.join(profile, "Default", "Preferences"), JSON.stringify(PREFERENCES));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("GOOGLE_")) delete env[k];
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/lib/chromium/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, "about:blank"],
    ignoreDefaultArgs: true,
    env,
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on("request", (r) => {
    if (!r.url().startsWith(ORIGIN + "/") && !r.url().startsWith("data:")) offsite.push(r.url());
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`console: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
});

test("the hello view lists the admin capability with the kinto-admin version", async () => {
  const res = await api("GET", "/");
  assert.equal(res.status, 200);
  assert.equal(res.body.capabilities.admin.description, "Serves the admin console.");
  assert.match(res.body.capabilities.admin.version, /^\d+\.\d+\.\d+$/);
});

test("nginx serves the admin: index.html for client routes, cache headers, a tight policy", async () => {
  for (const p of ["", "index.html", "buckets/x/collections/y", "no/such/file.js"]) {
    const res = await fetch(ADMIN + p);
    assert.equal(res.status, 200, p);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8", p);
    assert.equal(res.headers.get("cache-control"), "no-cache", p);
    assert.equal(res.headers.get("x-frame-options"), "DENY", p);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", p);
    const csp = res.headers.get("content-security-policy");
    assert.match(csp, /connect-src 'self'/, p);
    assert.match(csp, /frame-ancestors 'none'/, p);
    assert.doesNotMatch(csp.split(";").find((d) => d.includes("script-src")), /unsafe-inline/, p);
    assert.match(await res.text(), /<div id="root"><\/div>/, p);
  }
  const html = await (await fetch(ADMIN)).text();
  const script = html.match(/src="(\/v1\/admin\/assets\/admin-[A-Z0-9]+\.js)"/)[1];
  const js = await fetch(ORIGIN + script);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("content-type"), "application/javascript; charset=utf-8");
  assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const version = await fetch(ADMIN + "VERSION");
  assert.match(await version.text(), /^\d+\.\d+\.\d+\n$/);
  // /v1/admin redirects, relatively (no host name from the request echoed).
  const bare = await fetch(`${URL_V1}/admin`, { redirect: "manual" });
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get("location"), "/v1/admin/");
});

test("hostile paths below /v1/admin/ get pawl's JSON 404, never a file outside the build", async () => {
  const raw = async (p) => {
    // fetch() normalises dot segments; a raw request line keeps them.
    const net = await import("node:net");
    const { port } = new URL(ORIGIN);
    return new Promise((ok, ko) => {
      const sock = net.connect(Number(port), "127.0.0.1", () =>
        sock.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
      let data = "";
      sock.on("data", (d) => (data += d));
      sock.on("end", () => ok(data));
      sock.on("error", ko);
    });
  };
  for (const p of ["/v1/admin/assets/../../../../etc/passwd", "/v1/admin/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/v1/admin/assets/..%2f..%2f..%2fetc%2fpasswd", "/v1/admin/assets/nope.js",
    "/v1/admin/assets/", "/v1/admin/..;/etc/passwd"]) {
    const answer = await raw(p);
    assert.doesNotMatch(answer, /root:.*:0:0:/, p);
    assert.match(answer, /^HTTP\/1\.1 \d{3} /, `${p}: no answer (${JSON.stringify(answer.slice(0, 80))})`);
    const status = Number(answer.split(" ")[1]);
    assert.ok([200, 307, 400, 404].includes(status), `${p}: ${status}`);
    if (status === 400 || status === 404) assert.match(answer, /\r\n\r\n\{"code":(404|400)/, p);
    // pawl's trailing-slash redirect of an unknown URL, to this server.
    if (status === 307) assert.match(answer, /\r\nLocation: (\/v1\/|http:\/\/127\.0\.0\.1[:/])/i, p);
    // A 200 is index.html (a client route), never another file.
    if (status === 200) assert.match(answer, /<div id="root"><\/div>/, p);
  }
});

test("methods other than GET and HEAD get Kinto's JSON 405, not nginx's page", async () => {
  const html = await (await fetch(ADMIN)).text();
  const script = html.match(/src="(\/v1\/admin\/assets\/[^"]+)"/)[1];
  for (const [method, url] of [["POST", ADMIN], ["PUT", ADMIN + "index.html"],
    ["DELETE", ADMIN + "buckets/x"], ["OPTIONS", ADMIN], ["POST", ORIGIN + script]]) {
    const res = await fetch(url, { method, body: method === "POST" ? "{}" : undefined });
    assert.equal(res.status, 405, `${method} ${url}`);
    assert.equal(res.headers.get("content-type"), "application/json", `${method} ${url}`);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    const body = await res.json();
    assert.equal(body.errno, 115);
  }
  const head = await fetch(ADMIN, { method: "HEAD" });
  assert.equal(head.status, 200);
});

test("Basic Auth: bucket, collection and record created and edited through the forms", async () => {
  await signIn("basicauth", ALICE);
  await waitText(`basicauth:`); // the session's user id, shown in the sidebar
  await shot("signed-in-basicauth");

  // A bucket.
  await click("Create bucket");
  await waitText("Create a new bucket");
  await type("#root_id", BUCKET);
  await shot("bucket-form");
  await click("Create bucket", "button[type=submit]");
  await waitText(`Edit ${BUCKET} bucket attributes`);
  await shot("bucket-created");

  // A collection in it.
  await click("Collections");
  // The page's own link: with the permissions endpoint the sidebar lists the
  // user's buckets (the personal one first), each with its own link.
  await click("Create collection", "button:not(.sidebar *), a:not(.sidebar *)");
  await waitText("Create a new collection");
  await type("#root_id", COLLECTION);
  await shot("collection-form");
  await click("Create collection", "button[type=submit]");
  await waitText(`Records of ${BUCKET}/${COLLECTION}`);
  await waitText("This collection has no records.");
  await shot("collection-created");

  // A record: the admin gave the collection a schema (title, content), so
  // the record is a form of two fields.
  await click("Create record");
  await waitText(`Add a new record in ${BUCKET}/${COLLECTION}`);
  await type("#root_title", "Teapot");
  await type("#root_content", "Porcelain, 1 litre.");
  await shot("record-form");
  await click("Create record", "button[type=submit]");
  await waitText("Record created.");
  await waitText("Teapot", "table");
  await shot("record-listed");

  const list = await api("GET", `/buckets/${BUCKET}/collections/${COLLECTION}/records`);
  assert.equal(list.status, 200);
  assert.equal(list.body.data.length, 1);
  const rec = list.body.data[0];
  assert.equal(rec.title, "Teapot");
  assert.equal(rec.content, "Porcelain, 1 litre.");

  // Edit it: the list's edit link, then the attributes form.
  const edit = await page.waitForSelector(`table a[href$="/records/${rec.id}/attributes"]`,
    { timeout: STEP_MS });
  await edit.evaluate((e) => e.click());
  await waitText(`Edit ${BUCKET}/${COLLECTION}/${rec.id} record attributes`);
  await page.waitForFunction(() => document.querySelector("#root_title")?.value === "Teapot",
    { timeout: STEP_MS });
  await type("#root_title", "Teapot, blue");
  await type("#root_content", "Porcelain, 1 litre, blue glaze.");
  await shot("record-edit-form");
  await click("Update record", "button[type=submit]");
  await waitText("Record attributes updated.");
  await waitText("Teapot, blue", "table");
  await shot("record-updated");

  const got = await api("GET", `/buckets/${BUCKET}/collections/${COLLECTION}/records/${rec.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.data.title, "Teapot, blue");
  assert.equal(got.body.data.content, "Porcelain, 1 litre, blue glaze.");
  assert.ok(got.body.data.last_modified > rec.last_modified);
  // Created by alice's Basic Auth session: she owns what she made.
  const bucket = await api("GET", `/buckets/${BUCKET}`);
  assert.match(bucket.body.permissions.write[0], /^basicauth:/);

  // The collection's history tab (history_enabled on this stack).
  const hello = await api("GET", "/");
  if (hello.body.capabilities.history) {
    await click("History");
    await waitText(`History for ${BUCKET}/${COLLECTION}`);
    await waitText(rec.id, "table");
    const rows = await page.$$eval("table tbody tr", (trs) =>
      trs.map((tr) => Array.from(tr.cells).slice(1, 4).map((c) => c.innerText.trim()).join(" ")));
    assert.deepEqual(rows, [`update record ${rec.id}`, `create record ${rec.id}`,
      `create collection ${COLLECTION}`]);
    await shot("collection-history");
    const history = await api("GET", `/buckets/${BUCKET}/history?resource_name=record`);
    assert.equal(history.status, 200);
    assert.deepEqual(history.body.data.map((e) => e.action), ["update", "create"]);
  }
  await signOut();
});

test("Kinto account: signed in, sees its own bucket and not alice's", async () => {
  // Accounts are created anonymously (account_create_principals).
  const created = await api("PUT", `/accounts/${CAROL.user}`, {
    auth: null,
    body: { data: { password: CAROL.password } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await signIn("accounts", CAROL);
  await waitText(`account:${CAROL.user}`);
  await shot("signed-in-account");

  await click("Create bucket");
  await waitText("Create a new bucket");
  await type("#root_id", `carol-${RUN}`);
  await click("Create bucket", "button[type=submit]");
  await waitText(`Edit carol-${RUN} bucket attributes`);
  const bucket = await api("GET", `/buckets/carol-${RUN}`, { auth: CAROL });
  assert.deepEqual(bucket.body.permissions.write, [`account:${CAROL.user}`]);
  // alice's bucket is not carol's to read, nor listed in her sidebar. The
  // stack serves Kinto's permissions endpoint, so the admin knows which
  // buckets carol may write: hers is listed at once, without ticking "Show
  // readonly buckets/collections", and no notice says the endpoint is off.
  const other = await api("GET", `/buckets/${BUCKET}`, { auth: CAROL });
  assert.equal(other.status, 403);
  const perms = await api("GET", `/permissions?bucket_id=carol-${RUN}`, { auth: CAROL });
  assert.equal(perms.status, 200, JSON.stringify(perms.body));
  assert.deepEqual(perms.body.data.map((e) => e.uri), [`/buckets/carol-${RUN}`]);
  await click("Home");
  await waitText(`carol-${RUN}`, ".sidebar");
  await shot("account-bucket-listed");
  const checkbox = await page.$(".sidebar input[type=checkbox]");
  assert.equal(checkbox ? await checkbox.evaluate((e) => e.checked) : false, false,
    "listed without ticking Show readonly");
  const sidebar = await page.evaluate(() => document.querySelector(".sidebar").innerText);
  assert.ok(!sidebar.includes(BUCKET), `carol's sidebar lists alice's bucket:\n${sidebar}`);
  const text = await page.evaluate(() => document.body.innerText);
  assert.ok(!text.includes("Permissions endpoint is not enabled"), "the admin's notice is gone");
  await signOut();
});

test("the page made no request outside the stack and raised no error", async () => {
  assert.deepEqual(offsite, []);
  assert.deepEqual(pageErrors, []);
});

// Every destination in Chromium's net log: requests' URLs, connection
// targets and host name lookups.
function netlogDestinations(log) {
  const types = Object.fromEntries(Object.entries(log.constants.logEventTypes).map(([k, v]) => [v, k]));
  const seen = new Set();
  for (const e of log.events) {
    const p = e.params || {};
    const type = types[e.type];
    if (type === "URL_REQUEST_START_JOB" && p.url) seen.add(new URL(p.url).host);
    else if (type === "HTTP_STREAM_JOB" && p.destination) seen.add(new URL(p.destination).host);
    else if (type === "HOST_RESOLVER_MANAGER_REQUEST" && p.host) seen.add(String(p.host));
    else if (type === "TCP_CONNECT_ATTEMPT" && p.address) seen.add(String(p.address));
  }
  return [...seen];
}

test("Chromium itself reached nothing but 127.0.0.1", async () => {
  await browser.close(); // the net log is complete once the browser exits
  browser = undefined;
  const dests = netlogDestinations(JSON.parse(await readFile(NETLOG, "utf8")));
  assert.ok(dests.length > 0, "the net log recorded no destination at all");
  const outside = dests.filter((d) => !/^(?:[a-z]+:\/\/)?127\.0\.0\.1(?::\d+)?$/.test(d));
  assert.deepEqual(outside, [], `Chromium tried to reach these (all: ${dests.join(" ")})`);
});
