#!/usr/bin/env bash
# test-units.sh runs the ExecStartPre and ExecStart lines of each unit in
# this directory the way systemd would (without systemd or its sandbox),
# against a running devnet, and checks that the service comes up (its
# X-Sotto-Health URL answers 200) and stops cleanly on SIGTERM.
#
# Environment:
#   BIN      directory holding sottod, sotto-files, sotto-community
#   GENESIS  the devnet's genesis file (sottod follows it instead of a ledger)
#   PORTS    free TCP ports on 127.0.0.1, one for each port the units use
#   WORK     scratch directory (state directories, configuration)
# Deploy units use /usr/local/bin, /etc/sotto and ${STATE_DIRECTORY}; those
# are replaced with BIN, WORK/etc and WORK/state-UNIT, and the units' fixed
# ports with PORTS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:?}" "${GENESIS:?}" "${PORTS:?}" "${WORK:?}"

# The ports the units and the example configuration use, in order.
unit_ports=(22021 22029 8080 9190 8090 9191)
read -r -a free <<<"$PORTS"
if ((${#free[@]} < ${#unit_ports[@]})); then
	echo "error: PORTS has ${#free[@]} ports, need ${#unit_ports[@]}" >&2
	exit 2
fi

# subst rewrites paths and ports of a unit line or configuration file ($1: state dir).
subst() {
	local state=$1 expr=()
	for i in "${!unit_ports[@]}"; do
		expr+=(-e "s/:${unit_ports[$i]}\b/:${free[$i]}/g")
	done
	sed -E "${expr[@]}" \
		-e "s#/usr/local/bin/#${BIN}/#g" \
		-e "s#/etc/sotto/#${WORK}/etc/#g" \
		-e "s#\\$\\{STATE_DIRECTORY\\}#${state}#g" \
		-e "s#\\\$STATE_DIRECTORY#${state}#g"
}

mkdir -p "$WORK/etc"
# The example configuration, on loopback and following the devnet's genesis file.
subst /nonexistent <"$here/sottod.json" |
	sed -E -e 's/"public_ip": "[^"]*"/"public_ip": "127.0.0.1"/' \
		-e "s#\"ledger_rpc\": \"[^\"]*\"#\"genesis_file\": \"${GENESIS}\"#" >"$WORK/etc/sottod.json"

key() { sed -n -E "s/^$1=(.*)$/\\1/p" "$2"; }

status=0
for unit in "$here"/*.service; do
	name=$(basename "$unit" .service)
	state="$WORK/state-$name"
	mkdir -p "$state"
	chmod 0700 "$state"
	health=$(key X-Sotto-Health "$unit" | subst "$state")
	start=$(key ExecStart "$unit" | subst "$state")
	if [[ -z "$start" || -z "$health" ]]; then
		echo "FAIL $name: no ExecStart or X-Sotto-Health line" >&2
		status=1
		continue
	fi
	while IFS= read -r pre; do
		[[ -z "$pre" ]] && continue
		echo "$name: ExecStartPre: $pre"
		if ! STATE_DIRECTORY="$state" bash -c "exec $pre" >"$WORK/$name.pre.log" 2>&1; then
			echo "FAIL $name: ExecStartPre failed:" >&2
			cat "$WORK/$name.pre.log" >&2
			status=1
			continue 2
		fi
	done < <(key ExecStartPre "$unit" | subst "$state")
	echo "$name: ExecStart: $start"
	STATE_DIRECTORY="$state" bash -c "exec $start" >"$WORK/$name.log" 2>&1 &
	pid=$!
	up=0
	for _ in $(seq 1 300); do
		if curl -fsS -o /dev/null --max-time 2 "$health" 2>/dev/null; then
			up=1
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.2
	done
	if ((up == 0)); then
		echo "FAIL $name: $health did not answer" >&2
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		cat "$WORK/$name.log" >&2
		status=1
		continue
	fi
	echo "$name: up ($health)"
	kill -TERM "$pid"
	if wait "$pid"; then
		echo "ok $name: stopped cleanly"
	else
		echo "FAIL $name: exit status $? after SIGTERM" >&2
		cat "$WORK/$name.log" >&2
		status=1
	fi
done
exit $status
