#!/bin/busybox sh
# Initramfs /init (busybox sh, PID 1): load the 9p/overlay modules, mount the host's / read-only
# over virtio-9p, stack a tmpfs overlay on it (the guest's writes never reach the host), mount the
# writable run directory at /vmtest/out and switch_root into stage 2.
# Kernel parameters read here: vmtest.stage2=<script> vmtest.tmpfs=<size>
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
	echo "vmtest-init: $*" > /dev/ttyS0
	echo o > /proc/sysrq-trigger
	sleep 10
}

for m in $(cat /modules.order); do
	insmod "/modules/$m" || fail "insmod $m failed"
done

stage2=
tmpfs_size=1g
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vmtest.stage2=*) stage2="${arg#*=}" ;;
	vmtest.tmpfs=*) tmpfs_size="${arg#*=}" ;;
	esac
done
[ -n "$stage2" ] || fail "no vmtest.stage2= on the kernel command line"

mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower || fail "9p hostroot"
mount -t tmpfs -o "size=$tmpfs_size,mode=0755" rw /rw || fail "tmpfs /rw"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work,xino=off,index=off,metacopy=off vmroot /newroot || fail "overlay"
mkdir -p /newroot/vmtest/out
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 vmout /newroot/vmtest/out || fail "9p vmout"

mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/sh "$stage2"
