-- POST /v1/batch with BENCH_BATCH (25) record creations into one collection.
-- The batch answers 200 even when sub-requests fail: their statuses >= 400
-- are counted here and reported as "extra".
--   BENCH_PATH   the collection's records path inside the batch
--                (/buckets/bench/collections/bulk/records;
--                a path holding "/batch" is refused as a recursive batch, as in Kinto)
--   BENCH_BATCH  sub-requests per batch (25)
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local threads = {}
function setup(thread)
	threads[#threads + 1] = thread
end

function init(args)
	local path = common.env("BENCH_PATH")
	local count = tonumber(common.env("BENCH_BATCH", "25"))
	local parts = {}
	for i = 1, count do
		parts[#parts + 1] = string.format(
			'{"method": "POST", "path": "%s", "body": {"data": {"title": "batched %d", "n": %d}}}',
			path, i, i)
	end
	wrk.method = "POST"
	wrk.headers = common.headers(true)
	wrk.body = '{"requests": [' .. table.concat(parts, ", ") .. ']}'
	failed = 0
end

function response(status, headers, body)
	for s in string.gmatch(body, '"status"%s*:%s*(%d+)') do
		if tonumber(s) >= 400 then
			failed = failed + 1
		end
	end
end

function done(summary, latency, requests)
	local failed_total = 0
	for _, t in ipairs(threads) do
		failed_total = failed_total + (t:get("failed") or 0)
	end
	common.report(summary, latency, failed_total)
end
