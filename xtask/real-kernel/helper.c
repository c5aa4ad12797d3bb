/*
 * kexec-helper: the guest side of `cargo xtask real-kernel`, a static
 * i386 program with no libc. It reads /scn (hex words: kexec_image's
 * address, then BUFSZ MEM MEMSZ per segment), calls kexec_load (syscall
 * 283, flags 0) with buffers holding a pattern, prints the kernel's
 * kimage entry list read back through /proc/kcore (head, then every
 * indirection page, as for_each_kimage_entry walks it), then unloads
 * (kexec_load with no segments). Mode 1 (the second word of /scn) aims
 * segment 0 one page past the first indirection page, retrying (the
 * trace cleared each time) until the swap of an indirection request
 * happened. Output on stdout:
 *   load RET
 *   seg BUFSZ MEM MEMSZ (the segments loaded, hex)
 *   head 0x…
 *   word 0x…      (each indirection page's words, IND_DONE included)
 *   unload RET
 */
typedef unsigned int u32;
typedef unsigned long long u64;

void *memset(void *d, int c, unsigned int n)
{
	volatile char *p = d;
	while (n--) *p++ = (char)c;
	return d;
}

static long sys6(long n, long a, long b, long c, long d, long e)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
	return r;
}
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0)

static char buf[64 << 20] __attribute__((aligned(4096)));
static char text[1 << 16];
static char out[1 << 20];
static int outlen;

static void flush(void) { sys3(4, 1, out, outlen); outlen = 0; }
static void puts_(const char *s) { while (*s) { if (outlen == sizeof out) flush(); out[outlen++] = *s++; } }
static void hex(u64 v) { char t[20]; int i = 0; puts_("0x"); do { t[i++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v); while (i) { char c[2] = { t[--i], 0 }; puts_(c); } }
static void dec(long v) { char t[24]; int i = 0; if (v < 0) { puts_("-"); v = -v; } do { t[i++] = '0' + v % 10; v /= 10; } while (v); while (i) { char c[2] = { t[--i], 0 }; puts_(c); } }

struct seg { void *buf; u32 bufsz; u32 mem; u32 memsz; };
static struct seg segs[16];

/* /proc/kcore: ELF32 core; PT_LOAD headers map virtual addresses. */
static int kcore;
static struct { u32 vaddr, off, size; } loads[64];
static int nloads;

static int kread(u32 vaddr, void *dst, u32 len)
{
	for (int i = 0; i < nloads; i++) {
		if (vaddr >= loads[i].vaddr && vaddr - loads[i].vaddr + len <= loads[i].size) {
			u64 off = (u64)loads[i].off + (vaddr - loads[i].vaddr);
			u64 res;
			sys6(140, kcore, (long)(off >> 32), (long)(u32)off, (long)&res, 0);
			return sys3(3, kcore, dst, len) == (long)len ? 0 : -1;
		}
	}
	return -1;
}

static u32 kexec_image_addr, last_head;

static void trace_reset(void)
{
	int fd = sys3(5, "/sys/kernel/tracing/trace", 01 | 01000, 0); /* O_WRONLY|O_TRUNC */
	sys3(6, fd, 0, 0);
}

/* Load, print the list; unload when asked. Returns 1 when a SOURCE entry
 * is its own destination. */
static int attempt(int nseg, int unload)
{
	int selfsrc = 0;
	u32 dest = 0;
	long r = sys6(283, (long)segs[0].mem, nseg, (long)segs, 0, 0);
	for (int s = 0; s < nseg; s++) {
		puts_("seg "); hex(segs[s].bufsz); puts_(" "); hex(segs[s].mem); puts_(" "); hex(segs[s].memsz); puts_("\n");
	}
	puts_("load "); dec(r); puts_("\n");
	if (r == 0) {
		kcore = sys3(5, "/proc/kcore", 0, 0);
		unsigned char eh[52];
		sys3(3, kcore, eh, 52);
		u32 phoff = *(u32 *)(eh + 28);
		int phnum = *(unsigned short *)(eh + 44);
		u64 res;
		sys6(140, kcore, 0, phoff, (long)&res, 0);
		for (int i = 0; i < phnum && nloads < 64; i++) {
			u32 ph[8];
			sys3(3, kcore, ph, 32);
			if (ph[0] == 1) { loads[nloads].off = ph[1]; loads[nloads].vaddr = ph[2]; loads[nloads].size = ph[4]; nloads++; }
		}
		u32 image, entry;
		if (kread(kexec_image_addr, &image, 4) || !image || kread(image, &entry, 4)) {
			puts_("kcore unreadable\n");
		} else {
			/* for_each_kimage_entry: head, then each indirection page. */
			static u32 page[1024];
			u32 count = 0;
			puts_("head "); hex(entry); puts_("\n");
			last_head = entry;
			while (count < 4000000) {
				if (entry & 0x4) break; /* IND_DONE */
				if (!(entry & 0x2)) { puts_("head is not an indirection\n"); break; }
				if (kread(0xc0000000u + (entry & ~0xfffu), page, 4096)) { puts_("page unreadable\n"); break; }
				int done = 0;
				for (int i = 0; i < 1024; i++) {
					puts_("word "); hex(page[i]); puts_("\n");
					if (page[i] & 0x1) dest = page[i] & ~0xfffu;
					if (page[i] & 0x8) { if ((page[i] & ~0xfffu) == dest) selfsrc = 1; dest += 4096; }
					count++;
					if (page[i] & 0x4) { done = 1; break; }
					if (page[i] & 0x2) { entry = page[i]; break; }
				}
				if (done) break;
			}
		}
		if (unload) {
			r = sys6(283, 0, 0, 0, 0, 0);
			puts_("unload "); dec(r); puts_("\n");
		}
	}
	return selfsrc;
}

void _start(void)
{
	int fd = sys3(5, "/scn", 0, 0);
	long n = sys3(3, fd, text, sizeof text - 1);
	u32 w[64];
	int nw = 0;
	u32 v = 0;
	int in = 0;
	for (long i = 0; i <= n && nw < 64; i++) {
		char c = i < n ? text[i] : ' ';
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (c == 'x' && in && v == 0) continue;
		if (d >= 0) { v = v * 16 + d; in = 1; } else if (in) { w[nw++] = v; v = 0; in = 0; }
	}
	kexec_image_addr = w[0];
	int mode = w[1];
	int nseg = (nw - 2) / 3;
	u32 used = 0;
	for (int s = 0; s < nseg; s++) {
		segs[s].bufsz = w[2 + 3 * s];
		segs[s].mem = w[3 + 3 * s];
		segs[s].memsz = w[4 + 3 * s];
		segs[s].buf = buf + used;
		for (u32 k = 0; k < segs[s].bufsz && used + k < sizeof buf; k++)
			buf[used + k] = (char)(s + 1);
		used += (segs[s].bufsz + 4095) & ~4095u;
		if (used > sizeof buf) used = sizeof buf;
	}
	if (mode == 0) {
		attempt(nseg, 1);
	} else {
		/* Aim segment 0 one page past the first indirection page: load,
		 * look, unload, move, until a SOURCE entry is its own
		 * destination (the swap of an indirection request happened). */
		for (int i = 0; i < 12; i++) {
			outlen = 0;
			trace_reset();
			if (attempt(nseg, 0) == 1) {
				long r = sys6(283, 0, 0, 0, 0, 0);
				puts_("unload "); dec(r); puts_("\n");
				break;
			}
			sys6(283, 0, 0, 0, 0, 0);
			segs[0].mem = (last_head & ~0xfffu) + 4096;
		}
	}
	flush();
	sys3(1, 0, 0, 0);
}
