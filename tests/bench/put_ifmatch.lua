-- PUT with If-Match: each connection replaces its own record and sends the
-- ETag it got back from the previous answer. wrk's Lua API has no per-
-- connection state, so run it with as many threads as connections (-t16
-- -c16): one connection per thread, and the thread's globals are its state.
-- A connection's first request is a GET of its record, to learn the ETag; a
-- 412 (someone else changed it) makes it GET again.
--   BENCH_RECORDS  path of the records without the number, e.g.
--                  /v1/buckets/bench/collections/rw/records/rw  (→ rw00 …)
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local created = 0
function setup(thread)
	created = created + 1
	thread:set("tid", created)
end

function init(args)
	path = string.format("%s%02d", common.env("BENCH_RECORDS"), (tid or 1) - 1)
	get_headers = common.headers(false)
	put_headers = common.headers(true)
	etag = nil
	n = 0
end

function request()
	if etag == nil then
		return wrk.format("GET", path, get_headers)
	end
	n = n + 1
	put_headers["If-Match"] = etag
	return wrk.format("PUT", path, put_headers,
		string.format('{"data": {"title": "replaced %d", "n": %d, "done": false}}', n, n))
end

function response(status, headers, body)
	if status == 412 then
		etag = nil
		return
	end
	local e = common.header(headers, "ETag")
	if e ~= nil then
		etag = e
	end
end

function done(summary, latency, requests)
	common.report(summary, latency)
end
