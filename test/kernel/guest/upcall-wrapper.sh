#!/bin/sh
# request-key logging wrapper for cifs.spnego (runs as root from request-key, dash).
# Usage (request-key line): /bin/sh upcall-wrapper.sh %k %d %u key=%k -- <handler argv…>
# Appends two tab-separated records per upcall to /var/log/vmtest/upcalls.log:
#   start <uptime> <serial> <fsuid> <description> <probe and handler argv>
#   end   <uptime> <serial> <handler exit status> <flags and timeout of the key in /proc/keys>
# The handler runs as a child (not exec) so its status and run time can be recorded; its output
# goes to /var/log/vmtest/upcall-out/<serial>.out. The kernel waits for this whole script, so it
# uses shell built-ins only (one fork for the hex serial).
log=/var/log/vmtest/upcalls.log
exec < /dev/null >> /var/log/vmtest/upcall-wrapper.err 2>&1
serial=$1
desc=$2
fsuid=$3
probe=$4
shift 4
[ "$1" = "--" ] && shift
read -r up0 _ < /proc/uptime
printf 'start\t%s\t%s\t%s\t%s\t%s -- %s\n' "$up0" "$serial" "$fsuid" "$desc" "$probe" "$*" >> "$log"
"$@" > "/var/log/vmtest/upcall-out/$serial.out" 2>&1
rc=$?
read -r up1 _ < /proc/uptime
hex=$(printf '%08x' "$serial")
state=gone
while read -r id flags usage timeout rest; do
	if [ "$id" = "$hex" ]; then
		state="$flags $timeout"
		break
	fi
done < /proc/keys
printf 'end\t%s\t%s\t%s\t%s\n' "$up1" "$serial" "$rc" "$state" >> "$log"
exit "$rc"
