#!/bin/busybox sh
# The guest's /init for `cargo xtask real-kernel`: trace the page
# allocator (with stacks, for the helper's pid only) while the helper
# loads the scenario's segments, then write everything to /dev/vda.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tracefs tracefs /sys/kernel/tracing
echo 0 > /proc/sys/kernel/kptr_restrict
for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
  insmod /lib/modules/$m.ko
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
T=/sys/kernel/tracing
echo 0 > $T/tracing_on
cat /bufkb > $T/buffer_size_kb
echo 1 > $T/options/stacktrace
for e in mm_page_alloc mm_page_free mm_page_free_batched; do
  echo 1 > $T/events/kmem/$e/enable
done
echo > $T/trace
sh -c 'echo $$ > /sys/kernel/tracing/set_event_pid; echo 1 > /sys/kernel/tracing/tracing_on; exec /helper' > /tmp/list
echo 0 > $T/tracing_on
{
  echo "==list"; cat /tmp/list
  echo "==iomem"; cat /proc/iomem
  echo "==zoneinfo"; cat /proc/zoneinfo
  echo "==dmesg"; dmesg
  echo "==trace"; cat $T/trace
  echo "==end"
} > /dev/vda
sync
poweroff -f
