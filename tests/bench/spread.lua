-- POST creating records round-robin over several collections (each wrk
-- thread starts at its own offset).
--   BENCH_PREFIX  path of the collections without the number, e.g.
--                 /v1/buckets/bench/collections/spread   (→ spread00 …)
--   BENCH_COUNT   number of collections (16)
--   BENCH_BODY    the record, e.g. {"data": {"title": "x"}}
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local created = 0
function setup(thread)
	created = created + 1
	thread:set("tid", created)
end

function init(args)
	local prefix = common.env("BENCH_PREFIX")
	local count = tonumber(common.env("BENCH_COUNT", "16"))
	local body = common.env("BENCH_BODY")
	local headers = common.headers(true)
	reqs = {}
	for i = 0, count - 1 do
		reqs[#reqs + 1] = wrk.format("POST", string.format("%s%02d/records", prefix, i), headers, body)
	end
	nreq = #reqs
	cursor = ((tid or 1) - 1) * 7 -- threads start on different collections
end

function request()
	cursor = cursor + 1
	return reqs[cursor % nreq + 1]
end

function done(summary, latency, requests)
	common.report(summary, latency)
end
