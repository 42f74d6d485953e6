#!/bin/bash
# File accesses on a cifs mount as one process (so every access carries the same pid in the key
# description), timed around the single built-in that makes the syscall (no fork inside the timed
# part; EPOCHREALTIME in microseconds).
# Usage: access.sh op=arg …   ops: read=FILE  list=DIR  write=FILE  sleep=SECONDS
# Output, one line per op: op<TAB>arg<TAB>ok|err<TAB>microseconds<TAB>detail
# (detail: first line read, names listed, or the error text such as "Permission denied")
shopt -s nullglob dotglob
errf="/tmp/.access.$$.err"
for spec in "$@"; do
	op=${spec%%=*}
	arg=${spec#*=}
	: > "$errf"
	status=ok
	detail=
	case "$op" in
	read)
		line=
		t0=${EPOCHREALTIME/./}
		{ IFS= read -r line; } 2> "$errf" < "$arg"
		t1=${EPOCHREALTIME/./}
		detail=$line
		;;
	list)
		t0=${EPOCHREALTIME/./}
		names=("$arg"/*)
		t1=${EPOCHREALTIME/./}
		if ((${#names[@]} == 0)); then
			status=err
			detail="empty or unreadable"
		else
			detail=$(printf '%s,' "${names[@]##*/}")
		fi
		;;
	write)
		t0=${EPOCHREALTIME/./}
		{ printf 'written by uid %s\n' "$UID"; } 2> "$errf" > "$arg"
		t1=${EPOCHREALTIME/./}
		;;
	sleep)
		t0=${EPOCHREALTIME/./}
		sleep "$arg"
		t1=${EPOCHREALTIME/./}
		;;
	*)
		echo "access.sh: unknown op $op" >&2
		exit 2
		;;
	esac
	if [ -s "$errf" ]; then
		status=err
		IFS= read -r msg < "$errf"
		detail=${msg##*: }
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$op" "$arg" "$status" "$((t1 - t0))" "$detail"
done
rm -f "$errf"
