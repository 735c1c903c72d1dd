-- Shared by the wrk scripts of tests/bench (loaded with dofile): the
-- Authorization header and the one summary line tests/bench/run parses.
--
-- Every script is configured through the environment, not wrk's arguments:
--   BENCH_AUTH   value of the Authorization header ("Basic ..."), optional
-- and the variables each script documents.
local M = {}

function M.env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		if default == nil then
			error("tests/bench: environment variable " .. name .. " is not set")
		end
		return default
	end
	return v
end

-- Headers of every request: a copy of wrk.headers (Host, set by wrk before
-- init) plus Authorization; json adds Content-Type: application/json.
function M.headers(json)
	local h = {}
	for k, v in pairs(wrk.headers) do
		h[k] = v
	end
	local auth = os.getenv("BENCH_AUTH")
	if auth ~= nil and auth ~= "" then
		h["Authorization"] = auth
	end
	if json then
		h["Content-Type"] = "application/json"
	end
	return h
end

-- A response header, whatever case the server gave its name.
function M.header(headers, name)
	local v = headers[name]
	if v ~= nil then
		return v
	end
	local lower = string.lower(name)
	for k, val in pairs(headers) do
		if string.lower(k) == lower then
			return val
		end
	end
	return nil
end

-- wrk's done(): one line for tests/bench/run. Latencies in microseconds;
-- status = responses with a status >= 400 (wrk counts those); extra = what
-- a script counted itself (e.g. failed sub-requests of a batch).
function M.report(summary, latency, extra)
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format(
		"BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
		"status=%d connect=%d read=%d write=%d timeout=%d extra=%d\n",
		summary.requests, summary.duration, summary.requests / secs,
		latency:percentile(50), latency:percentile(99), latency.max,
		e.status, e.connect, e.read, e.write, e.timeout, extra or 0))
end

return M
