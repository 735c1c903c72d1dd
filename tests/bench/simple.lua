-- One request, always the same (wrk's static fast path: no Lua per request):
-- GET one record, GET a list, HEAD a list, POST into one collection, and the
-- ceilings (nginx alone, __lbheartbeat__). The URL given to wrk is the target.
--   BENCH_METHOD  GET (default), HEAD, POST, PUT, PATCH
--   BENCH_BODY    request body (sent as application/json), optional
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

function init(args)
	local body = os.getenv("BENCH_BODY")
	if body == "" then
		body = nil
	end
	wrk.method = common.env("BENCH_METHOD", "GET")
	wrk.headers = common.headers(body ~= nil)
	wrk.body = body
end

function done(summary, latency, requests)
	common.report(summary, latency)
end
