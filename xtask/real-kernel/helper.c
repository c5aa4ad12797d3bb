/*
 * kexec-helper: the guest side of `cargo xtask real-kernel`, a static
 * i386 or x86_64 program with no libc. It reads /scn (hex words:
 * kexec_image's address, then BUFSZ MEM MEMSZ per segment), calls
 * kexec_load (syscall 283 on i386, 246 on x86_64, flags 0) with buffers
 * holding a pattern, prints the kernel's
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
/* A kernel word: kimage_entry_t, an address, a segment field. */
typedef unsigned long ul;

void *memset(void *d, int c, __SIZE_TYPE__ n)
{
	volatile char *p = d;
	while (n--) *p++ = (char)c;
	return d;
}

void *memcpy(void *d, const void *s, __SIZE_TYPE__ n)
{
	volatile char *p = d;
	const char *q = s;
	while (n--) *p++ = *q++;
	return d;
}

#ifdef __x86_64__
enum { NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_exit = 60, NR_kexec_load = 246 };
static long sys6(long n, long a, long b, long c, long d, long e)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
	return r;
}
static void seek(int fd, u64 off) { sys6(8, fd, (long)off, 0, 0, 0); }
#else
enum { NR_read = 3, NR_write = 4, NR_open = 5, NR_close = 6, NR_exit = 1, NR_kexec_load = 283 };
/* Indirection pages are lowmem: read at PAGE_OFFSET + their address. */
#define PAGE_OFFSET 0xc0000000ul
static long sys6(long n, long a, long b, long c, long d, long e)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
	return r;
}
/* _llseek */
static void seek(int fd, u64 off) { u64 res; sys6(140, fd, (long)(off >> 32), (long)(u32)off, (long)&res, 0); }
#endif
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0)

static char buf[64 << 20] __attribute__((aligned(4096)));
static char text[1 << 16];
static char out[1 << 20];
static int outlen;

static void flush(void) { sys3(NR_write, 1, out, outlen); outlen = 0; }
static void puts_(const char *s) { while (*s) { if (outlen == sizeof out) flush(); out[outlen++] = *s++; } }
static void hex(u64 v) { char t[20]; int i = 0; puts_("0x"); do { t[i++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v); while (i) { char c[2] = { t[--i], 0 }; puts_(c); } }
static void dec(long v) { char t[24]; int i = 0; if (v < 0) { puts_("-"); v = -v; } do { t[i++] = '0' + v % 10; v /= 10; } while (v); while (i) { char c[2] = { t[--i], 0 }; puts_(c); } }

struct seg { void *buf; ul bufsz; ul mem; ul memsz; };
static struct seg segs[16];

/* /proc/kcore: an ELF32 (i386) or ELF64 (x86_64) core; PT_LOAD headers
 * map virtual addresses. */
static int kcore;
static struct { ul vaddr; u64 off, size, paddr; } loads[64];
static int nloads;

static int kread(ul vaddr, void *dst, u32 len)
{
	for (int i = 0; i < nloads; i++) {
		if (vaddr >= loads[i].vaddr && vaddr - loads[i].vaddr + len <= loads[i].size) {
			seek(kcore, loads[i].off + (vaddr - loads[i].vaddr));
			return sys3(NR_read, kcore, dst, len) == (long)len ? 0 : -1;
		}
	}
	return -1;
}

#ifdef __x86_64__
/* A physical page through the PT_LOAD whose p_paddr covers it (kcore's
 * RAM ranges): the direct map's base depends on the paging mode (4-level
 * 0xffff888000000000, 5-level 0xff11000000000000 under QEMU's -cpu max),
 * so it is not assumed. */
static int kread_phys(u64 pa, void *dst, u32 len)
{
	for (int i = 0; i < nloads; i++)
		if (loads[i].paddr != ~0ull && pa >= loads[i].paddr && pa - loads[i].paddr + len <= loads[i].size)
			return kread(loads[i].vaddr + (pa - loads[i].paddr), dst, len);
	return -1;
}
#else
static int kread_phys(u64 pa, void *dst, u32 len) { return kread(PAGE_OFFSET + pa, dst, len); }
#endif

static void kcore_open(void)
{
	kcore = sys3(NR_open, "/proc/kcore", 0, 0);
	unsigned char eh[64];
	sys3(NR_read, kcore, eh, 64);
#ifdef __x86_64__
	u64 phoff = *(u64 *)(eh + 32);
	int phnum = *(unsigned short *)(eh + 56);
	seek(kcore, phoff);
	for (int i = 0; i < phnum && nloads < 64; i++) {
		u64 ph[7]; /* Elf64_Phdr: type, flags; offset, vaddr, paddr, filesz, memsz, align */
		sys3(NR_read, kcore, ph, 56);
		if ((u32)ph[0] == 1) { loads[nloads].off = ph[1]; loads[nloads].vaddr = ph[2]; loads[nloads].paddr = ph[3]; loads[nloads].size = ph[4]; nloads++; }
	}
#else
	u32 phoff = *(u32 *)(eh + 28);
	int phnum = *(unsigned short *)(eh + 44);
	seek(kcore, phoff);
	for (int i = 0; i < phnum && nloads < 64; i++) {
		u32 ph[8];
		sys3(NR_read, kcore, ph, 32);
		if (ph[0] == 1) { loads[nloads].off = ph[1]; loads[nloads].vaddr = ph[2]; loads[nloads].size = ph[4]; nloads++; }
	}
#endif
}

static ul kexec_image_addr, last_head;

static void trace_reset(void)
{
	int fd = sys3(NR_open, "/sys/kernel/tracing/trace", 01 | 01000, 0); /* O_WRONLY|O_TRUNC */
	sys3(NR_close, fd, 0, 0);
}

/* Load, print the list; unload when asked. Returns 1 when a SOURCE entry
 * is its own destination. */
static int attempt(int nseg, int unload)
{
	int selfsrc = 0;
	ul dest = 0;
	long r = sys6(NR_kexec_load, (long)segs[0].mem, nseg, (long)segs, 0, 0);
	for (int s = 0; s < nseg; s++) {
		puts_("seg "); hex(segs[s].bufsz); puts_(" "); hex(segs[s].mem); puts_(" "); hex(segs[s].memsz); puts_("\n");
	}
	puts_("load "); dec(r); puts_("\n");
	if (r == 0) {
		if (!nloads) kcore_open();
		ul image, entry;
		if (kread(kexec_image_addr, &image, sizeof image) || !image || kread(image, &entry, sizeof entry)) {
			puts_("kcore unreadable\n");
		} else {
			/* for_each_kimage_entry: head, then each indirection page. */
			enum { SLOTS = 4096 / sizeof(ul) };
			static ul page[SLOTS];
			u32 count = 0;
			puts_("head "); hex(entry); puts_("\n");
			last_head = entry;
			while (count < 4000000) {
				if (entry & 0x4) break; /* IND_DONE */
				if (!(entry & 0x2)) { puts_("head is not an indirection\n"); break; }
				if (kread_phys(entry & ~0xffful, page, 4096)) { puts_("page unreadable\n"); break; }
				int done = 0;
				for (int i = 0; i < SLOTS; i++) {
					puts_("word "); hex(page[i]); puts_("\n");
					if (page[i] & 0x1) dest = page[i] & ~0xffful;
					if (page[i] & 0x8) { if ((page[i] & ~0xffful) == dest) selfsrc = 1; dest += 4096; }
					count++;
					if (page[i] & 0x4) { done = 1; break; }
					if (page[i] & 0x2) { entry = page[i]; break; }
				}
				if (done) break;
			}
		}
		if (unload) {
			r = sys6(NR_kexec_load, 0, 0, 0, 0, 0);
			puts_("unload "); dec(r); puts_("\n");
		}
	}
	return selfsrc;
}

__attribute__((force_align_arg_pointer)) void _start(void)
{
	int fd = sys3(NR_open, "/scn", 0, 0);
	long n = sys3(NR_read, fd, text, sizeof text - 1);
	ul w[64];
	int nw = 0;
	ul v = 0;
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
	ul used = 0;
	for (int s = 0; s < nseg; s++) {
		segs[s].bufsz = w[2 + 3 * s];
		segs[s].mem = w[3 + 3 * s];
		segs[s].memsz = w[4 + 3 * s];
		segs[s].buf = buf + used;
		for (ul k = 0; k < segs[s].bufsz && used + k < sizeof buf; k++)
			buf[used + k] = (char)(s + 1);
		used += (segs[s].bufsz + 4095) & ~4095ul;
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
				long r = sys6(NR_kexec_load, 0, 0, 0, 0, 0);
				puts_("unload "); dec(r); puts_("\n");
				break;
			}
			sys6(NR_kexec_load, 0, 0, 0, 0, 0);
			segs[0].mem = (last_head & ~0xffful) + 4096;
		}
	}
	flush();
	sys3(NR_exit, 0, 0, 0);
}
