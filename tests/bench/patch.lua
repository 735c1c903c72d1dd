-- PATCH (JSON merge of "data") round-robin over records; each wrk thread
-- takes its own share of them so concurrent patches rarely wait on one row.
--   BENCH_RECORDS  path of the records without the number (…/records/rw)
--   BENCH_COUNT    how many records there are (16)
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local created, threads = 0, {}
function setup(thread)
	created = created + 1
	thread:set("tid", created)
	threads[#threads + 1] = thread
end

function init(args)
	local base = common.env("BENCH_RECORDS")
	local count = tonumber(common.env("BENCH_COUNT", "16"))
	local nthreads = tonumber(common.env("BENCH_THREADS", "1"))
	local share = math.max(1, math.floor(count / nthreads))
	paths = {}
	for i = 0, share - 1 do
		paths[#paths + 1] = string.format("%s%02d", base, (((tid or 1) - 1) * share + i) % count)
	end
	headers = common.headers(true)
	n = 0
end

function request()
	n = n + 1
	return wrk.format("PATCH", paths[n % #paths + 1], headers,
		string.format('{"data": {"n": %d, "done": true}}', n))
end

function done(summary, latency, requests)
	common.report(summary, latency)
end
