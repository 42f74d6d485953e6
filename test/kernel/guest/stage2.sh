#!/bin/sh
# Stage 2 (PID 1 after switch_root, the host's dash): fresh /tmp, /run and /dev/shm (the 9p view
# shows the host's), devpts, the extracted modules at /lib/modules/<release>, loopback up; then run
# the orchestrator with its output on ttyS1 (QEMU's stdout), store its exit status in the run
# directory and power off. Settings come from /vmtest/out/stage2.env (written by the host):
#   VMTEST_RELEASE, VMTEST_MODULES (extracted lib/modules/<release>), VMTEST_NODE, VMTEST_MAIN,
#   VMTEST_CONFIG
out=/vmtest/out
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

poweroff_now() {
	sync
	echo o > /proc/sysrq-trigger
	sleep 30
}

if ! . "$out/stage2.env"; then
	echo "stage2: cannot read $out/stage2.env" > /dev/ttyS0
	poweroff_now
fi

mount -t tmpfs -o mode=1777,size=512m tmp /tmp
mount -t tmpfs -o mode=0755,size=64m run /run
mkdir -p /run/lock /dev/shm /dev/pts
mount -t tmpfs -o mode=1777,size=64m shm /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx
ln -sf /proc/self/fd /dev/fd
mkdir -p "/lib/modules/$VMTEST_RELEASE"
mount --bind "$VMTEST_MODULES" "/lib/modules/$VMTEST_RELEASE"
mount -t debugfs debugfs /sys/kernel/debug
ln -sf /proc/self/mounts /etc/mtab
hostname client
ip link set lo up
stty -F /dev/ttyS1 raw -echo

setsid -w "$VMTEST_NODE" "$VMTEST_MAIN" "$VMTEST_CONFIG" > /dev/ttyS1 2>&1 < /dev/null
rc=$?
echo "$rc" > "$out/status.tmp" && mv "$out/status.tmp" "$out/status"
poweroff_now
