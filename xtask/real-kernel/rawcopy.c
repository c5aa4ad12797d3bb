/*
 * kexec-rawcopy: the guest side of `cargo xtask real-kernel` for large
 * captures, a static i386 program with no libc. It copies the ring
 * buffer's pages (per_cpu/cpu0/trace_pipe_raw, opened non-blocking so
 * that the end of the buffer ends the copy instead of waiting) as they
 * are to the output disk /dev/vda at 2 GiB (the text sections are
 * written from its start; one disk, so QEMU's memory map is the same as
 * without this), and prints the number of bytes copied. Printing
 * millions of stack traces as text takes the guest minutes; the host
 * decodes these pages instead (kexec-capture's raw reader).
 */
typedef unsigned int u32;

static long sys5(long n, long a, long b, long c, long d, long e)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
	return r;
}
#define sys3(n, a, b, c) sys5(n, a, b, c, 0, 0)

static char buf[1 << 20] __attribute__((aligned(4096)));

static void dec(u32 v)
{
	char t[24];
	int i = 24;
	t[--i] = '\n';
	do { t[--i] = '0' + v % 10; v /= 10; } while (v);
	sys3(4, 1, (long)(t + i), 24 - i);
}

void _start(void)
{
	/* O_RDONLY|O_NONBLOCK; O_WRONLY */
	long in = sys3(5, (long)"/sys/kernel/tracing/per_cpu/cpu0/trace_pipe_raw", 04000, 0);
	long out = sys3(5, (long)"/dev/vda", 01, 0);
	u32 total = 0; /* the buffer is under 4 GiB */
	long long at;
	/* _llseek(out, 2 GiB) */
	if (in < 0 || out < 0 || sys5(140, out, 0, (long)0x80000000u, (long)&at, 0) < 0) {
		sys3(4, 1, (long)"-1\n", 3);
		sys3(1, 1, 0, 0);
	}
	for (;;) {
		u32 have = 0;
		while (have + 4096 <= sizeof buf) {
			long n = sys3(3, in, (long)(buf + have), 4096);
			if (n <= 0)
				break;
			/* A short read is a partial page: keep whole pages. */
			volatile char *z = buf + have;
			while (n < 4096) z[n++] = 0;
			have += 4096;
		}
		if (have == 0)
			break;
		u32 done = 0;
		while (done < have) {
			long w = sys3(4, out, (long)(buf + done), have - done);
			if (w <= 0) {
				sys3(4, 1, (long)"-1\n", 3);
				sys3(1, 1, 0, 0);
			}
			done += w;
		}
		total += have;
		if (have < sizeof buf)
			break;
	}
	sys3(118, out, 0, 0); /* fsync */
	dec(total);
	sys3(1, 0, 0, 0);
}
