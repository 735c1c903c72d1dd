# tests/bench/variants.sh: sourced by tests/bench/run. The cost on writes of
# an optional feature, measured as bench-compare measures two builds: the
# same write load (POST a record into one collection) against the same
# stack and database, once per variant of the settings, in rounds whose
# order alternates (forward, then backward) so that the machine's drift
# weighs on every variant alike. The stack restarts for each variant with
# the variant's settings; each row is the median of the rounds, its ratio to
# the variant it is compared with (in the same run), and to the write
# ceiling (pgbench running the same write).
#
# A variant is one line of `variants_declare`:
#   variant NAME VS ENV INI
# NAME its row; VS the variant it is compared with ("" for the baseline);
# ENV VAR=VALUE for pawl-stack (PAWL_EVENT_LISTENERS=...; PAWL_BIN=FILE runs
# another build, to compare two builds under one setting), ";" between them;
# INI settings appended to pawl.ini, ";" between them. A variant whose
# settings `pawl-fcgi check` refuses (a setting this build does not know)
# is skipped, and the report says why.
#
# Environment: BENCH_VARIANT_ROUNDS (3) rounds, each of BENCH_SECONDS per variant.

VARIANT_ROUNDS=${BENCH_VARIANT_ROUNDS:-3}
[[ $VARIANT_ROUNDS =~ ^[1-9][0-9]*$ ]] || die "invalid BENCH_VARIANT_ROUNDS '$VARIANT_ROUNDS'"
VARIANT_NAMES=()
declare -A VARIANT_VS=() VARIANT_ENV=() VARIANT_INI=() VARIANT_SKIP=() VARIANT_INIFILE=()
declare -A VARIANT_RPS=() VARIANT_P99=() VARIANT_EVENTS=() VARIANT_LEFT=() VARIANT_OTHER=()
VARIANT_STREAM=pawl.bench.stream

variant() {
	VARIANT_NAMES+=("$1")
	VARIANT_VS[$1]=$2
	VARIANT_ENV[$1]=$3
	VARIANT_INI[$1]=$4
}

variants_declare() {
	# Every variant's file declares the stream listener; PAWL_EVENT_LISTENERS picks
	# which listeners run (the options of the others are ignored).
	variant "no listener" "" "PAWL_EVENT_LISTENERS=" ""
	variant "list listener" "no listener" "PAWL_EVENT_LISTENERS=redis" ""
	variant "stream listener" "no listener" "PAWL_EVENT_LISTENERS=stream" ""
	variant "stream and list listeners" "list listener" "PAWL_EVENT_LISTENERS=redis stream" ""
	variant "history on" "list listener" "PAWL_EVENT_LISTENERS=redis" "history_enabled = true"
}

# The settings file of variant NAME: the stream listener, then the variant's own lines.
variant_ini() {
	local f=$WORK/variant-${1//[^A-Za-z0-9]/_}.ini line
	{
		echo "event_listeners.stream.use = redis"
		echo "event_listeners.stream.url = redis://127.0.0.1:$REDIS_PORT/0"
		echo "event_listeners.stream.type = stream"
		echo "event_listeners.stream.listname = $VARIANT_STREAM"
		IFS=';' read -ra lines <<<"${VARIANT_INI[$1]}"
		for line in "${lines[@]}"; do [[ -z ${line// /} ]] || echo "${line# }"; done
	} >"$f"
	echo "$f"
}

# Whether this build takes variant NAME's settings; else VARIANT_SKIP says why.
variant_supported() {
	local name=$1 f=$WORK/variant-check.ini msg envs
	IFS=';' read -ra envs <<<"${VARIANT_ENV[$name]}"
	sed '/^# --- appended by pawl-stack/,$d' "$STATE/pawl.ini" >"$f"
	cat "${VARIANT_INIFILE[$name]}" >>"$f"
	if msg=$(env "${envs[@]}" "$BIN" check -c "$f" 2>&1 >/dev/null); then
		return 0
	fi
	VARIANT_SKIP[$name]="pawl-fcgi check refuses its settings ($(printf '%s' "$msg" | grep -m1 . | cut -c1-200))"
	return 1
}

redis_q() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" 2>/dev/null; }

# One measurement of variant NAME in round R: a stack with its settings, POSTs for SECS.
variant_measure() {
	local name=$1 r=$2 row="variant $1, round $2" n envs
	IFS=';' read -ra envs <<<"${VARIANT_ENV[$name]}"
	stack_start "variant: $name" PAWL_STACK_EXTRA_INI="${VARIANT_INIFILE[$name]}" "${envs[@]}"
	redis_q DEL pawl.events "$VARIANT_STREAM" >/dev/null
	psql_q -c "VACUUM ANALYZE"
	wrk_run "$row" simple.lua "$THREADS" "$(COLL_URL hot)/records" BENCH_METHOD=POST BENCH_BODY="$REC_BODY"
	unset 'ROWS[-1]' # not a row of the main table
	sleep 1          # the last pushes after the last responses
	n=$(($(redis_q LLEN pawl.events || echo 0) + $(redis_q XLEN "$VARIANT_STREAM" || echo 0)))
	VARIANT_RPS[$name]="${VARIANT_RPS[$name]:-} ${RPS[$row]}"
	VARIANT_P99[$name]="${VARIANT_P99[$name]:-} ${P99[$row]}"
	VARIANT_EVENTS[$name]="${VARIANT_EVENTS[$name]:-} $n"
	VARIANT_LEFT[$name]="${VARIANT_LEFT[$name]:-} $(outbox_pending)"
	VARIANT_OTHER[$name]="${VARIANT_OTHER[$name]:-} ${OTHER[$row]}"
	say "variant $name, round $r: ${RPS[$row]} req/s, $n events in Redis"
	stack_stop
}

variants_run() {
	local name r i active=()
	variants_declare
	for name in "${VARIANT_NAMES[@]}"; do
		VARIANT_INIFILE[$name]=$(variant_ini "$name")
		if variant_supported "$name"; then active+=("$name"); else say "variant '$name' skipped: ${VARIANT_SKIP[$name]}"; fi
	done
	for ((r = 1; r <= VARIANT_ROUNDS; r++)); do
		if ((r % 2)); then
			for ((i = 0; i < ${#active[@]}; i++)); do variant_measure "${active[$i]}" "$r"; done
		else
			for ((i = ${#active[@]} - 1; i >= 0; i--)); do variant_measure "${active[$i]}" "$r"; done
		fi
	done
	redis_q DEL pawl.events "$VARIANT_STREAM" >/dev/null || true
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

best() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }
change() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "—"; else printf "%+.0f%%", 100 * (a / b - 1) }'; }

# The report's section: one row per variant, then the skipped ones.
variants_report() {
	local name vs best m mv b bv ceil=${RPS["pgbench write, one list"]:-}
	echo "## Cost of optional features on writes (variants, same run)"
	echo
	echo "POST a record into one collection, wrk $CONNS connections, ${SECS}s per measurement, $VARIANT_ROUNDS rounds" \
		"(variant order forward, then backward); the stack restarts for each variant (same database and Redis)." \
		"req/s and p99: medians of the rounds; *vs* compares with another variant of this run;" \
		"*best*: the fastest round of each, and its ratio (other processes only ever slow a round down," \
		"so on a shared machine the best rounds are the less disturbed ones: read both, and the other load of each round);" \
		"*vs ceiling*: the median against pgbench running the same write (above)."
	echo
	echo "| Variant | settings | req/s | p99 ms | vs | best req/s | best vs | vs ceiling | events in Redis | outbox left | samples req/s | other load % |"
	echo "|---|---|---:|---:|---|---:|---|---|---:|---:|---|---|"
	for name in "${VARIANT_NAMES[@]}"; do
		[[ -z ${VARIANT_SKIP[$name]:-} ]] || continue
		m=$(echo "${VARIANT_RPS[$name]}" | median)
		b=$(echo "${VARIANT_RPS[$name]}" | best)
		vs=${VARIANT_VS[$name]} best="—"
		if [[ -n $vs && -z ${VARIANT_SKIP[$vs]:-} ]]; then
			mv=$(echo "${VARIANT_RPS[$vs]}" | median)
			bv=$(echo "${VARIANT_RPS[$vs]}" | best)
			best="$(ratio "$b" "$bv") ($(change "$b" "$bv"))"
			vs="$(ratio "$m" "$mv") × $vs ($(change "$m" "$mv"))"
		else
			vs="baseline"
		fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
			"$(echo "${VARIANT_ENV[$name]}${VARIANT_INI[$name]:+; ${VARIANT_INI[$name]}}" | sed 's/|/\\|/g')" \
			"$(fmt_rps "$m")" "$(printf '%.2f' "$(echo "${VARIANT_P99[$name]}" | median)")" "$vs" "$(fmt_rps "$b")" "$best" \
			"$( [[ -n $ceil ]] && echo "$(ratio "$m" "$ceil") × pgbench write, one list" || echo —)" \
			"$(fmt_rps "$(echo "${VARIANT_EVENTS[$name]}" | median)")" "$(fmt_rps "$(echo "${VARIANT_LEFT[$name]}" | median)")" \
			"$(echo "${VARIANT_RPS[$name]}" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.0f", (i > 1 ? " " : ""), $i }')" \
			"${VARIANT_OTHER[$name]# }"
	done
	for name in "${VARIANT_NAMES[@]}"; do
		[[ -n ${VARIANT_SKIP[$name]:-} ]] && echo && echo "- *$name* (\`${VARIANT_INI[$name]}\`) not measured: ${VARIANT_SKIP[$name]}."
	done
	echo
	echo "- events in Redis: entries of \`pawl.events\` (list) and \`$VARIANT_STREAM\` (stream) after a round (median); with both listeners each event is counted twice."
}
