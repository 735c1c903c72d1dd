# The scenarios of tests/scale/run (sourced by it): each prints ok/FAIL lines
# with figures and ends with scenario_end. In an order that keeps the topology
# usable: the PostgreSQL promotion last, since it uses up the replica.
# shellcheck shell=bash

# dur FULL SHORT: seconds of load for this run.
dur() { if ((SHORT)); then echo "$2"; else echo "$1"; fi; }

# Writes of a log that did not end 2xx or 503 with Retry-After and a JSON body.
bad_answers() { logstat '!($1 ~ /^2/ || ($1 == 503 && $5 >= 0 && $8 == 1)) {n++} END {print n + 0}' "$@"; }
count() { logstat "$1"' {n++} END {print n + 0}' "${@:2}"; }
# median_elapsed FROM TO LOG: the median ms of the 2xx writes sent in [FROM, TO).
median_elapsed() {
	logstat -v a="$1" -v b="$2" '$1 ~ /^2/ && $9 >= a && $9 < b {print $6}' "$3" | sort -n |
		awk '{v[NR] = $1} END {print (NR ? v[int((NR + 1) / 2)] : 0)}'
}
max_elapsed() { logstat '$6 > m {m = $6} END {print m + 0}' "$@"; }
# first2xx_after MS LOG: ms from MS to the end of the first 2xx write sent after it (-1: none).
first2xx_after() {
	logstat -v t="$1" '$1 ~ /^2/ && $9 >= t {e = $9 + $6 - t; if (m == "" || e < m) m = e}
		END {print (m == "" ? -1 : m)}' "$2"
}

s1_spread() {
	local secs log a1 a2 tot non2 d1 d2
	secs=$(dur 15 6)
	say "1. writes spread over app1 and app2 through lb (${secs}s, 8 writers, 3 collections)"
	mkcolls s1c 3 || FAILS+=("collections")
	d1=$(metric app1 pawl_events_delivered_total)
	d2=$(metric app2 pawl_events_delivered_total)
	load s1 s1c "$secs" 8
	wait "$LOADPID"
	sleep 1
	d1=$(($(metric app1 pawl_events_delivered_total) - d1))
	d2=$(($(metric app2 pawl_events_delivered_total) - d2))
	# Both relays take from the one outbox: each must have pushed some.
	expect "both relays delivered: app1 $d1 events, app2 $d2" eval "((d1 > 0 && d2 > 0))"
	log=$WORK/s1.log
	tot=$(count 1 "$log")
	non2=$(count '$1 !~ /^2/' "$log")
	a1=$(count "\$1 ~ /^2/ && \$7 == \"$(ip_of app1):8080\"" "$log")
	a2=$(count "\$1 ~ /^2/ && \$7 == \"$(ip_of app2):8080\"" "$log")
	expect "writes answered: $tot, not 2xx: $non2" eq "$non2" 0
	expect "app1 served $a1, app2 served $a2 (each >= 20%)" \
		eval "((a1 * 5 >= tot && a2 * 5 >= tot))"
	S1=$(check_events s1c 30 "$log")
	echo "  $S1"
	expect "events: each 2xx write's exactly once, per-list order" eval '[[ $S1 == *"-> ok" ]]'
	scenario_end "1 writes over app1+app2" "$tot writes, app1 $a1 / app2 $a2, relays $d1/$d2; $(sed 's/.*: //; s/ -> .*//' <<<"$S1" | awk '{print $2, $4, $6, $10}')"
}

# The pgbouncer database's column of SHOW STATS (PgBouncer's admin console).
pgb_stat() { pgb_sql "SHOW STATS" pgbouncer | awk -F'|' -v c="$1" 'NR == 1 {} $1 == "pawl" {print $c}'; }
# mean_latency_ms HOST SUM0 COUNT0: the mean event delivery latency of HOST's relay since then.
# (A histogram not yet observed is absent: 0.)
mean_latency_ms() {
	awk -v s="$(metric "$1" pawl_event_delivery_latency_seconds_sum)" -v c="$(metric "$1" pawl_event_delivery_latency_seconds_count)" \
		-v s0="$2" -v c0="$3" 'BEGIN {s += 0; c += 0; s0 += 0; c0 += 0
			if (c > c0) printf "%.1f", 1000 * (s - s0) / (c - c0); else print "none"}'
}

s1p_pgbouncer() {
	local secs log tot non2 a1 a2 a3 d3 x0 x1 st l1s l1c l3s l3c m1 m3 plog perr
	secs=$(dur 15 6)
	say "1p. writes over app1, app2 (direct to db1) and app3 (through PgBouncer, transaction pooling) (${secs}s, 9 writers)"
	mkcolls spc 3 || FAILS+=("collections")
	st=$(pgb_sql "SHOW statement_timeout")
	expect "statement_timeout of a pooled server connection: $st (pgbouncer's connect_query)" eq "$st" "$((STMT_MS / 1000))s"
	d3=$(metric app3 pawl_events_delivered_total)
	l1s=$(metric app1 pawl_event_delivery_latency_seconds_sum)
	l1c=$(metric app1 pawl_event_delivery_latency_seconds_count)
	l3s=$(metric app3 pawl_event_delivery_latency_seconds_sum)
	l3c=$(metric app3 pawl_event_delivery_latency_seconds_count)
	x0=$(pgb_stat 2)
	LOAD_URL=http://$(ip_of lb):8004 load s1p spc "$secs" 9
	wait "$LOADPID"
	sleep 1
	x1=$(pgb_stat 2)
	d3=$(($(metric app3 pawl_events_delivered_total) - d3))
	m1=$(mean_latency_ms app1 "$l1s" "$l1c")
	m3=$(mean_latency_ms app3 "$l3s" "$l3c")
	log=$WORK/s1p.log
	tot=$(count 1 "$log")
	non2=$(count '$1 !~ /^2/' "$log")
	a1=$(count "\$1 ~ /^2/ && \$7 == \"$(ip_of app1):8080\"" "$log")
	a2=$(count "\$1 ~ /^2/ && \$7 == \"$(ip_of app2):8080\"" "$log")
	a3=$(count "\$1 ~ /^2/ && \$7 == \"$(ip_of app3):8080\"" "$log")
	expect "writes answered: $tot, not 2xx: $non2" eq "$non2" 0
	expect "app1 $a1, app2 $a2, app3 (PgBouncer) $a3 (each >= 15%)" \
		eval "((a1 * 100 >= tot * 15 && a2 * 100 >= tot * 15 && a3 * 100 >= tot * 15))"
	expect "PgBouncer ran $((x1 - x0)) transactions (>= app3's $a3 writes)" eval "((x1 - x0 >= a3 && a3 > 0))"
	expect "app3's relay (its connection through PgBouncer too) delivered $d3 events" ge "$d3" 1
	plog=$WORK/pgb/pgbouncer.log
	perr=$(grep -c 'ERROR\|prepared statement\|unsupported startup parameter' "$plog")
	expect "PgBouncer logged no error ($perr)" eq "$perr" 0
	S1P=$(check_events spc 30 "$log")
	echo "  $S1P"
	expect "events: each 2xx write's exactly once, per-list order, 3 relays competing" eval '[[ $S1P == *"-> ok" ]]'
	scenario_end "1p app3 through PgBouncer" "$tot writes, app1 $a1 / app2 $a2 / app3 $a3, $((x1 - x0)) xacts in pgb; delivery mean app1 ${m1} ms, app3 ${m3} ms; $(sed 's/.*: //; s/ -> .*//' <<<"$S1P" | awk '{print $2, $4, $6, $10}')"
}

s2_replica() {
	local n out lag rec
	n=$(dur 40 20)
	say "2. ro1 serves _since polls from db2 ($n changes written through lb)"
	mkcolls lag 1 || FAILS+=("collection")
	api GET "/buckets/$BUCKET/collections/lag0/records" >/dev/null
	out=$(cx "$LOAD" lag --url "$LB" --read-url "$RO" --auth "$AUTH" --bucket "$BUCKET" --prefix lag0 \
		--tag lag --n "$n")
	echo "  $out"
	expect "every change appeared on ro1 (within 10 s each)" eval '[[ $out == *"failed=0 "* ]]'
	lag=$(metric ro1 pawl_db_replication_lag_seconds)
	rec=$(metric ro1 pawl_db_in_recovery)
	expect "ro1 metrics: pawl_db_replication_lag_seconds = $lag (present, < 5)" \
		eval '[[ $lag != absent ]] && awk -v l="$lag" "BEGIN {exit !(l < 5)}"'
	expect "ro1 metrics: pawl_db_in_recovery = $rec" eq "$rec" 1
	expect "ro1 refuses a write (405)" eq "$(cx curl -s -o /dev/null -w '%{http_code}' -u "$AUTH" \
		-X POST -d '{}' "$RO/v1/buckets/$BUCKET/collections/lag0/records")" 405
	scenario_end "2 read-only head on db2" "$(sed 's/lag: //' <<<"$out"); metric lag ${lag}s"
}

s3_host_dies() {
	local secs log log2 t_kill tot err after a1 a2 rc
	secs=$(dur 20 10)
	say "3. app1 dies mid-load (SIGKILL to every process of app1), then rejoins"
	mkcolls s3c 3 || FAILS+=("collections")
	load s3 s3c "$secs" 8
	sleep "$(dur 4 3)"
	kill_ns "$(ns app1)"
	t_kill=$(wall_ms) # taken once every process is gone
	say "   app1: $(ip netns pids "$(ns app1)" | wc -l) processes left after the kill"
	wait "$LOADPID"
	log=$WORK/s3.log
	tot=$(count 1 "$log")
	err=$(count '$1 !~ /^2/' "$log")
	after=$(count "\$9 > $t_kill + 1000 && \$1 ~ /^2/ && \$7 == \"$(ip_of app2):8080\"" "$log")
	expect "answered $tot, errors $err (at most 16: the writes in flight at the kill)" le "$err" 16
	expect "after the kill, app2 answered $after writes 2xx" ge "$after" 1
	expect "no 2xx from app1 after the kill" eq \
		"$(count "\$9 > $t_kill && \$1 ~ /^2/ && \$7 == \"$(ip_of app1):8080\"" "$log")" 0
	start_host app1
	rc=$?
	expect "app1 restarted" eq "$rc" 0
	sleep 6 # the balancer's fail_timeout (5 s) for app1 to be tried again
	load s3b s3c "$(dur 6 4)" 4
	wait "$LOADPID"
	log2=$WORK/s3b.log
	a1=$(count "\$1 ~ /^2/ && \$7 == \"$(ip_of app1):8080\"" "$log2")
	a2=$(count "\$1 ~ /^2/ && \$7 == \"$(ip_of app2):8080\"" "$log2")
	expect "app1 rejoined: it served $a1 writes (app2 $a2), none failed" \
		eval "((a1 > 0 && $(count '$1 !~ /^2/' "$log2") == 0))"
	S3=$(check_events s3c 30 "$log" "$log2")
	echo "  $S3"
	expect "events: app1's committed ones delivered by app2's relay, none lost or doubled" \
		eval '[[ $S3 == *"-> ok" ]]'
	scenario_end "3 app1 killed, lb routes around" "$tot writes, $err errors at the kill, then app1 $a1 / app2 $a2; $(sed 's/.*: //; s/ -> .*//' <<<"$S3" | awk '{print $3, $4, $5, $6}')"
}

s4_redis_failover() {
	local secs log before after t_kill t_new new nonok
	secs=$(dur 20 12)
	say "4. the Redis master (rd1) killed mid-load: Sentinel promotes rd2"
	mkcolls s4c 3 || FAILS+=("collections")
	before=$(($(metric app1 pawl_redis_master_switches_total) + $(metric app2 pawl_redis_master_switches_total)))
	load s4 s4c "$secs" 6
	sleep 3
	t_kill=$SECONDS
	kill -KILL "$(cat "$WORK/rd1/redis/redis.pid")"
	retry 40 eval '[[ $(sentinel_master_ip rd3) == $(ip_of rd2) ]]'
	t_new=$((SECONDS - t_kill))
	new=$(sentinel_master_ip rd3)
	expect "Sentinel names rd2 ($new) the master, ${t_new}s after the kill" eq "$new" "$(ip_of rd2)"
	# The old master back, as a replica of the new one: wait_replicas = 1 needs one.
	start_redis_on rd1 --replicaof "$(ip_of rd2)" 6379
	wait "$LOADPID"
	log=$WORK/s4.log
	nonok=$(count '$1 !~ /^2/' "$log")
	expect "every write answered 2xx while Redis failed over (not 2xx: $nonok)" eq "$nonok" 0
	S4=$(check_events s4c 60 "$log")
	echo "  $S4"
	after=$(($(metric app1 pawl_redis_master_switches_total) + $(metric app2 pawl_redis_master_switches_total)))
	expect "pawl_redis_master_switches_total moved: $before -> $after" ge "$after" $((before + 1))
	expect "events: everything held in the outbox delivered, none lost or doubled" \
		eval '[[ $S4 == *"-> ok" ]]'
	scenario_end "4 Redis master killed" "$(count 1 "$log") writes, failover ${t_new}s, switches $before->$after; $(sed 's/.*: //; s/ -> .*//' <<<"$S4" | awk '{print $2, $4, $5, $6}')"
}

s5_network() {
	local log slow cut after t_slow t_fast t_up rec bad maxms limit n503 m0 m1
	slow=$(dur 8 5)
	cut=$(dur 12 10)
	after=$(dur 10 8)
	# A request sent as the link goes away waits for its statement until
	# storage_statement_timeout_ms plus the 2 s pawl leaves the server to
	# report its own timeout (DEADLINE_MARGIN_MS, app/store/pg_exec.c); then,
	# when that statement was its COMMIT, up to 5 s asking for the
	# transaction's outcome (OUTCOME_WAIT_MS, app/store/pg.c), whose last
	# connection attempt may still take a connect timeout to the lost host;
	# 1.5 s more for the rest (queueing behind stuck workers, the second
	# host's refusal, TCP's SYN retries once the link is back).
	limit=$((STMT_MS + 2000 + 5000 + CONNECT_S * 1000 + 1500))
	say "5. db1's link slow (tbf, ${slow}s), normal (3s), cut (${cut}s) under load, then back (${after}s)"
	mkcolls s5c 3 || FAILS+=("collections")
	# 4 writers: the 4 workers of app1+app2; more would queue in nginx, which
	# is not what this scenario measures.
	load s5 s5c $((slow + 3 + cut + after + 2)) 4 --timeout-ms 30000
	sleep 2
	t_slow=$(wall_ms)
	inns db1 tc qdisc add dev eth0 root tbf rate 512kbit burst 4kb limit 64kb
	netns_run "$SW" tc qdisc add dev p-db1 root tbf rate 512kbit burst 4kb limit 64kb
	sleep "$slow"
	inns db1 tc qdisc del dev eth0 root
	netns_run "$SW" tc qdisc del dev p-db1 root
	t_fast=$(wall_ms)
	# The queues drain first: a request slowed by tbf is not what the cut measures.
	sleep 3
	nip "$SW" link set p-db1 down
	sleep "$cut"
	nip "$SW" link set p-db1 up
	t_up=$(wall_ms)
	wait "$LOADPID"
	log=$WORK/s5.log
	bad=$(bad_answers "$log")
	maxms=$(max_elapsed "$log")
	n503=$(count '$1 == 503' "$log")
	m0=$(median_elapsed 0 "$t_slow" "$log")
	m1=$(median_elapsed "$t_slow" "$t_fast" "$log")
	rec=$(first2xx_after "$t_up" "$log")
	expect "the slow link was slow: median write $m0 ms before, $m1 ms on tbf" eval "((m1 > 2 * m0))"
	expect "every write ended 2xx or 503 + Retry-After (JSON); others: $bad" eq "$bad" 0
	expect "503s during the cut: $n503" ge "$n503" 1
	expect "slowest request ${maxms} ms <= ${limit} ms (statement timeout + 2 s + outcome wait 5 s + connect timeout + 1.5 s)" le "$maxms" "$limit"
	expect "writes succeed again ${rec} ms after the link returned (<= 10000)" \
		eval "((rec >= 0 && rec <= 10000))"
	expect "the last 3 s of writes all 2xx" eq \
		"$(logstat -v a="$(($(wall_ms) - 3000))" '$9 > a && $1 !~ /^2/ {n++} END {print n + 0}' "$log")" 0
	S5=$(check_events s5c 60 "$log")
	echo "  $S5"
	expect "events: nothing answered 2xx lost" eval '[[ $S5 == *"-> ok" ]]'
	scenario_end "5 slow then cut db1 link" "$(count 1 "$log") writes, median ${m0}->${m1} ms on tbf, $n503 x 503 cut, max ${maxms} ms, back in ${rec} ms; $(sed 's/.*: //; s/ -> .*//' <<<"$S5" | awk '{print $3, $4, $5}')"
}

s6_pg_failover() {
	local log t_kill t_prom rec bad n503 n2b n2a pre
	say "6. PostgreSQL primary (db1) SIGKILLed, db2 promoted with pg_ctl promote"
	mkcolls s6c 3 && mkcolls s6p 1 || FAILS+=("collections")
	load s6 s6c $(($(dur 12 10) + $(dur 10 8))) 4 --timeout-ms 30000
	sleep 3
	kill_ns "$(ns db1)"
	t_kill=$(wall_ms) # taken once PostgreSQL is gone: what is sent later finds no primary
	# Longer than the 5 s a worker waits for a lost COMMIT's outcome: the
	# outage is then answered 503 (before, the workers still hope for db1).
	sleep "$(dur 9 7)"
	# Stamped before: db2 takes writes before pg_ctl returns, so a write may
	# be answered 2xx before a stamp taken after it.
	t_prom=$(wall_ms)
	as_pg_in db2 "$PGBIN/pg_ctl" promote -D "$WORK/db2/data" -w -t 60 -s
	expect "pg_ctl promote on db2" eq "$?" 0
	wait "$LOADPID"
	log=$WORK/s6.log
	bad=$(bad_answers "$log")
	n503=$(logstat -v a="$t_kill" -v b="$t_prom" '$9 > a && $9 + $6 < b && $1 == 503 {n++} END {print n + 0}' "$log")
	pre=$(logstat -v a="$t_kill" -v b="$t_prom" '$9 > a && $9 + $6 < b && $1 != 503 {n++} END {print n + 0}' "$log")
	n2b=$(logstat -v a="$t_kill" '$9 + $6 < a && $1 ~ /^2/ {n++} END {print n + 0}' "$log")
	n2a=$(logstat -v b="$t_prom" '$9 > b && $1 ~ /^2/ {n++} END {print n + 0}' "$log")
	rec=$(first2xx_after "$t_prom" "$log")
	expect "every write ended 2xx or 503 + Retry-After (JSON); others: $bad" eq "$bad" 0
	expect "during the outage: $n503 x 503, $pre other answers" eval "((n503 >= 1 && pre == 0))"
	expect "2xx before the kill: $n2b, after the promotion: $n2a" eval "((n2b > 0 && n2a > 0))"
	expect "first write accepted ${rec} ms after pg_ctl promote began (<= 10000)" \
		eval "((rec >= 0 && rec <= 10000))"
	CHECK_OPTS=--readable S6=$(check_events s6c 60 "$log")
	echo "  $S6"
	expect "events and data: every 2xx write readable on db2 with its event" eval '[[ $S6 == *"-> ok" ]]'
	# The whole run on the promoted db2: every write any scenario had answered 2xx.
	CHECK_OPTS=--readable SALL=$(check_events s 60 "$WORK"/s[0-9]*.log)
	echo "  all scenarios: $SALL"
	expect "all scenarios' 2xx writes readable on db2, each with its event" eval '[[ $SALL == *"-> ok" ]]'
	scenario_end "6 PG primary lost, db2 promoted" "$n2b 2xx before, $n503 x 503 in the outage, first 2xx ${rec} ms after promote began, $n2a after; run total: $(sed 's/.*: //; s/ -> .*//' <<<"$SALL" | awk '{print $2, $4, $12}')"
}

# A POST straight to app3 (not through lb): "status ms retry-after".
app3_post() {
	cx curl -s -o /dev/null -D - -w 'END %{http_code} %{time_total}\n' --max-time 30 -u "$AUTH" -X POST \
		-H 'Content-Type: application/json' -d '{"data":{"n":1}}' \
		"http://$(ip_of app3):8080/v1/buckets/$BUCKET/collections/s6p0/records" |
		awk 'tolower($1) == "retry-after:" {r = $2 + 0} $1 == "END" {printf "%s %d %s\n", $2, $3 * 1000, (r == "" ? -1 : r)}'
}

# app3 after the promotion: PgBouncer still names db1, so app3 cannot follow by
# itself. It must answer 503 + Retry-After (never a 500 or a hang) until an
# admin repoints PgBouncer at db2 (RELOAD), then take writes again.
s6p_pgbouncer_after() {
	local st ms ra t0 rec n3 end
	say "6p. app3 behind PgBouncer (still pointing at the lost db1), then PgBouncer repointed at db2"
	read -r st ms ra <<<"$(app3_post)"
	expect "app3 write while PgBouncer names the lost db1: $st in $ms ms, Retry-After $ra (503, <= 10000 ms)" \
		eval "((st == 503 && ra >= 0 && ms <= 10000))"
	pgb_conf db2
	t0=$(wall_ms)
	pgb_sql RELOAD pgbouncer
	expect "PgBouncer RELOADed with db2" eq "$?" 0
	end=$((SECONDS + 20))
	until read -r st ms ra <<<"$(app3_post)" && [[ $st == 201 ]] || ((SECONDS >= end)); do sleep 0.5; done
	rec=$(($(wall_ms) - t0))
	expect "app3 writes again ($st) ${rec} ms after the RELOAD (<= 20000)" eq "$st" 201
	n3=$(cx curl -s -u "$AUTH" "http://$(ip_of app3):8080/v1/buckets/$BUCKET/collections/s6p0/records" |
		grep -o '"id"' | wc -l)
	expect "app3 reads back its $n3 record(s) from db2" ge "$n3" 1
	scenario_end "6p app3 via PgBouncer after it" "503 while pgb names db1, writes ${rec} ms after RELOAD on db2"
}

# --- measured growth ---------------------------------------------------------------------------

wrk_rps() { # PORT PATH [wrk options]: requests/s, then non-2xx
	local out
	out=$(cx wrk -t2 -c8 -d"$GROWTH_S"s -H "Authorization: Basic $(printf %s "$AUTH" | base64)" \
		"${@:3}" "http://$(ip_of lb):$1$2" 2>&1)
	echo "$out" >>"$WORK/wrk.out"
	printf '%s %s\n' "$(awk '/^Requests\/sec/ {printf "%d", $2}' <<<"$out")" \
		"$(awk '/Non-2xx/ {print $5}' <<<"$out" | grep . || echo 0)"
}

growth() {
	local path r1 r2 r3 w e1 e2 e3 ew
	GROWTH_S=8
	say "growth: wrk -t2 -c8 -d${GROWTH_S}s from cli, GET one record, through lb"
	mkcolls gr 1 && mkcolls gw 1 || FAILS+=("collections")
	[[ $(api PUT "/buckets/$BUCKET/collections/gr0/records/g1" '{"data":{"n":1}}') == 20[01] ]] ||
		FAILS+=("record")
	path=/v1/buckets/$BUCKET/collections/gr0/records/g1
	retry 10 eval '[[ $(cx curl -s -o /dev/null -w "%{http_code}" -u "$AUTH" "$RO$path") == 200 ]]'
	read -r r1 e1 <<<"$(wrk_rps 8001 "$path")"
	read -r r2 e2 <<<"$(wrk_rps 8002 "$path")"
	read -r r3 e3 <<<"$(wrk_rps 8003 "$path")"
	printf 'wrk.method = "POST"\nwrk.body = "{\\"data\\":{\\"n\\":1}}"\nwrk.headers["Content-Type"] = "application/json"\n' \
		>"$WORK/post.lua"
	read -r w ew <<<"$(wrk_rps 8000 "/v1/buckets/$BUCKET/collections/gw0/records" -s "$WORK/post.lua")"
	expect "reads: 1 host $r1/s, 2 hosts $r2/s, 3 hosts $r3/s; all 2xx ($e1 $e2 $e3 not)" \
		eval "((r1 > 0 && r2 > 0 && r3 > 0 && e1 + e2 + e3 == 0))"
	expect "writes: $w/s on the one primary, all 2xx ($ew not)" eval "((w > 0 && ew == 0))"
	GROWTH_TABLE=$(printf 'growth (all namespaces share the same %s cores: more hosts cannot add CPU here;\n' "$(nproc)"
		printf 'the ratios show the cost of spreading, not capacity)\n'
		printf '  %-42s %8s %6s\n' "workload" "req/s" "ratio"
		printf '  %-42s %8s %6s\n' "GET one record, app1 (lb :8001)" "$r1" "1.00"
		printf '  %-42s %8s %6s\n' "GET one record, app1+app2 (lb :8002)" "$r2" "$(awk -v a="$r2" -v b="$r1" 'BEGIN {printf "%.2f", a / b}')"
		printf '  %-42s %8s %6s\n' "GET one record, app1+app2+ro1 (lb :8003)" "$r3" "$(awk -v a="$r3" -v b="$r1" 'BEGIN {printf "%.2f", a / b}')"
		printf '  %-42s %8s %6s\n' "POST a record, app1+app2 on db1 (lb :8000)" "$w" "-")
	echo "$GROWTH_TABLE"
	scenario_end "growth (measured)" "reads 1/2/3 hosts: $r1/$r2/$r3 req/s; writes $w req/s"
}

run_scenarios() {
	s1_spread
	s1p_pgbouncer
	s2_replica
	s3_host_dies
	s4_redis_failover
	((SHORT)) || growth
	s5_network
	s6_pg_failover
	s6p_pgbouncer_after
}
