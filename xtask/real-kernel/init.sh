#!/bin/busybox sh
# The guest's /init for `cargo xtask real-kernel`: trace the page
# allocator (with stacks, for the helper's pid only) while the helper
# loads the scenario's segments, then write everything to /dev/vda (the
# raw ring buffer at 2 GiB).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tracefs tracefs /sys/kernel/tracing
echo 0 > /proc/sys/kernel/kptr_restrict
# amd64: kexec_image's address from /proc/kallsyms (CONFIG_KALLSYMS_ALL).
if [ "$(head -c 11 /scn)" = kexec_image ]; then
  a=$(grep ' kexec_image$' /proc/kallsyms | cut -d' ' -f1)
  sed -i "1s/^kexec_image/0x$a/" /scn
fi
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
  # /capture: "text" (the trace as text), "raw" (the ring buffer's pages,
  # at 2 GiB: printing millions of stack traces takes minutes here) or
  # "both" (to check the host's raw reader against the text).
  c=$(cat /capture)
  if [ "$c" != raw ]; then echo "==trace"; cat $T/trace; fi
  if [ "$c" != text ]; then
    echo "==header_page"; cat $T/events/header_page
    echo "==formats"
    cat $T/events/kmem/mm_page_alloc/format $T/events/kmem/mm_page_free/format \
        $T/events/kmem/mm_page_free_batched/format $T/events/ftrace/kernel_stack/format
    echo "==kallsyms"; cat /proc/kallsyms
    echo "==cmdlines"; cat $T/saved_cmdlines
    echo "==stats"; cat $T/per_cpu/cpu0/stats
    echo "==rawbytes"; /rawcopy
  fi
  echo "==end"
} > /dev/vda
sync
poweroff -f
