/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * kshim.c: the shim's own code, linked with the kernel's kexec files into
 * one wasm module (a "kernel build").
 *
 * - struct pages, made on demand in runs of KSHIM_PAGE_RUN pfns (a hash
 *   of runs: a 64 GiB machine needs no 16-million-entry mem_map);
 * - the direct map: a 4 KiB buffer per lowmem page whose page_address()
 *   or __va() is used, filled from the model's store and flushed back;
 *   a highmem page has none (page_address() is NULL, __va() faults);
 * - kmap windows, KM_MAX_IDX of them, each followed by a guard area that
 *   is checked on kunmap: a write past the window (an entry index that is
 *   not a slot of the page) is a fault, as is a write to the first page
 *   of memory (a NULL pointer);
 * - a heap for kmalloc (the instance lives for one load and unload);
 * - the entry points the host calls: kexec_sim_* below;
 * - a shadow call stack kept by -finstrument-functions, so a fault names
 *   the kernel function it happened in.
 *
 * Nothing here is instrumented (notrace).
 */
#include "kshim.h"
#include <linux/kexec.h>

#pragma clang attribute push(__attribute__((no_instrument_function)), apply_to = function)

struct kshim_arch kshim_arch;
static struct task_struct kshim_task = { .pid = 1 };
struct task_struct *current = &kshim_task;
int panic_on_oops;
bool crash_kexec_post_notifiers;
atomic_t panic_cpu = ATOMIC_INIT(PANIC_CPU_INVALID);
struct resource iomem_resource = { .start = 0, .end = ~0ULL, .name = "PCI mem" };

void kshim_bug(unsigned int code, unsigned long long a, unsigned long long b)
{
	kshim_host_fault(code, a, b);
}

/* ------------------------------------------------------------------ */
/* The heap: grows the wasm memory, never shrinks.                     */

extern unsigned char __heap_base;
static uintptr_t heap_top;

static void *heap_alloc(size_t size, size_t align)
{
	if (!heap_top)
		heap_top = (uintptr_t)&__heap_base;
	uintptr_t p = (heap_top + align - 1) & ~(uintptr_t)(align - 1);
	uintptr_t end = p + size;
	uintptr_t have = __builtin_wasm_memory_size(0) * 65536;
	if (end > have) {
		size_t pages = (end - have + 65535) / 65536;
		if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
			kshim_host_fault(KSHIM_FAULT_NO_MEMORY, size, 0);
	}
	heap_top = end;
	return (void *)p;
}

/* kmalloc blocks carry their size before them (for krealloc-free code, only kzalloc needs it). */
void *kmalloc(size_t size, gfp_t flags)
{
	(void)flags;
	return heap_alloc(size ? size : 1, 16);
}

void *kzalloc(size_t size, gfp_t flags)
{
	void *p = kmalloc(size, flags);
	memset(p, 0, size);
	return p;
}

void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kzalloc(n * size, flags);
}

void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kmalloc(n * size, flags);
}

void kfree(const void *p) { (void)p; }
void *vmalloc(unsigned long size) { return kmalloc(size, GFP_KERNEL); }
void *vzalloc(unsigned long size) { return kzalloc(size, GFP_KERNEL); }
void vfree(const void *p) { (void)p; }
void kvfree(const void *p) { (void)p; }

void *memdup_user(const void __user *src, size_t len)
{
	void *p = kmalloc(len, GFP_KERNEL);
	if (copy_from_user(p, src, len))
		return ERR_PTR(-EFAULT);
	return p;
}

void *memdup_array_user(const void __user *src, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return ERR_PTR(-EOVERFLOW);
	return memdup_user(src, n * size);
}

void *vmemdup_user(const void __user *src, size_t len) { return memdup_user(src, len); }

unsigned long copy_from_user(void *to, const void __user *from, unsigned long n)
{
	return (unsigned long)kshim_host_copy_from_user(to, (uintptr_t)from, n);
}

unsigned long copy_to_user(void __user *to, const void *from, unsigned long n)
{
	(void)to;
	(void)from;
	return n;
}

/* With -mbulk-memory these become memory.fill / memory.copy. */
void *memset(void *s, int c, size_t n) { __builtin_memset(s, c, n); return s; }
void *memcpy(void *d, const void *s, size_t n) { __builtin_memcpy(d, s, n); return d; }
void *memmove(void *d, const void *s, size_t n) { __builtin_memmove(d, s, n); return d; }

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

#if __SIZEOF_POINTER__ == 8
/*
 * The 128-bit multiply clang calls for 64-bit overflow checks (compiler-rt
 * is not linked): schoolbook on 32-bit halves.
 */
union kshim_u128 {
	__int128 v;
	struct { unsigned long long lo, hi; } p;
};

__int128 __multi3(__int128 a, __int128 b)
{
	union kshim_u128 x = { .v = a }, y = { .v = b }, r;
	unsigned long long a0 = x.p.lo & 0xffffffffu, a1 = x.p.lo >> 32;
	unsigned long long b0 = y.p.lo & 0xffffffffu, b1 = y.p.lo >> 32;
	unsigned long long p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	unsigned long long mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
	r.p.lo = (mid << 32) | (p00 & 0xffffffffu);
	r.p.hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32) + x.p.lo * y.p.hi + x.p.hi * y.p.lo;
	return r.v;
}
#endif

/* ------------------------------------------------------------------ */
/* printk: the format with integer and string conversions, to the host. */

static char log_buf[512];
static unsigned int log_len;

static void log_put(char c)
{
	if (log_len < sizeof(log_buf))
		log_buf[log_len++] = c;
}

static void log_num(unsigned long long v, unsigned int base, bool neg)
{
	char tmp[24];
	int n = 0;
	if (neg)
		log_put('-');
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		log_put(tmp[--n]);
}

int printk(const char *fmt, ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	log_len = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			log_put(*p);
			continue;
		}
		p++;
		int longs = 0;
		while (*p == 'l' || *p == 'z') {
			longs += *p == 'l' ? 1 : 2;
			p++;
		}
		switch (*p) {
		case 'd':
		case 'i': {
			long long v = longs >= 2 ? __builtin_va_arg(ap, long long)
				    : longs == 1 ? __builtin_va_arg(ap, long) : __builtin_va_arg(ap, int);
			log_num(v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10, v < 0);
			break;
		}
		case 'u':
		case 'x':
		case 'p': {
			unsigned long long v = *p == 'p' ? (uintptr_t)__builtin_va_arg(ap, void *)
					     : longs >= 2 ? __builtin_va_arg(ap, unsigned long long)
					     : longs == 1 ? __builtin_va_arg(ap, unsigned long)
					     : __builtin_va_arg(ap, unsigned int);
			log_num(v, *p == 'u' ? 10 : 16, false);
			break;
		}
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);
			while (s && *s)
				log_put(*s++);
			break;
		}
		case '%':
			log_put('%');
			break;
		default:
			log_put('%');
			if (*p)
				log_put(*p);
			else
				p--;
		}
	}
	__builtin_va_end(ap);
	kshim_host_printk(log_buf, log_len);
	return (int)log_len;
}

/* ------------------------------------------------------------------ */
/* struct pages                                                        */

struct page_run {
	unsigned long long first;
	struct page_run *next;
	struct page pages[KSHIM_PAGE_RUN];
};

#define RUN_BUCKETS 4096
static struct page_run *runs[RUN_BUCKETS];

struct page *kshim_pfn_to_page(unsigned long long pfn)
{
	unsigned long long first = pfn & ~(unsigned long long)(KSHIM_PAGE_RUN - 1);
	unsigned int b = (unsigned int)((first / KSHIM_PAGE_RUN) % RUN_BUCKETS);
	struct page_run *r = runs[b];
	while (r && r->first != first)
		r = r->next;
	if (!r) {
		r = heap_alloc(sizeof(*r), 16);
		memset(r, 0, sizeof(*r));
		r->first = first;
		r->next = runs[b];
		runs[b] = r;
		for (unsigned int i = 0; i < KSHIM_PAGE_RUN; i++) {
			struct page *pg = &r->pages[i];
			pg->kshim_pfn = first + i;
			pg->kshim_info = kshim_host_page_info(first + i);
			INIT_LIST_HEAD(&pg->lru);
		}
	}
	struct page *page = &r->pages[pfn - first];
	if (!(page->kshim_info & KSHIM_PAGE_RAM))
		kshim_host_fault(KSHIM_FAULT_PFN, pfn, 0);
	return page;
}

static void check_direct_guard(unsigned int slot);
static long direct_last;

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	if (direct_last >= 0)
		check_direct_guard((unsigned int)direct_last);
	long long pfn = kshim_host_alloc_pages(gfp, order);
	if (pfn < 0)
		return NULL;
	return kshim_pfn_to_page((unsigned long long)pfn);
}

static void drop_direct(struct page *page);

void __free_pages(struct page *page, unsigned int order)
{
	unsigned long count = 1UL << order;
	for (unsigned long i = 0; i < count; i++)
		drop_direct(page + i);
	kshim_host_free_pages((long long)page->kshim_pfn, order);
}

void free_reserved_page(struct page *page)
{
	ClearPageReserved(page);
	__free_pages(page, 0);
}

unsigned long totalram_pages(void)
{
	return (unsigned long)kshim_arch.totalram_pages;
}

/* ------------------------------------------------------------------ */
/* The direct map                                                      */

/*
 * Direct-map buffers come in chunks of DIRECT_CHUNK 4 KiB slots, never
 * moved (the kernel keeps pointers into them: image->entry), so __pa() of
 * any address in one finds its pfn. Slots of freed pages are reused.
 */
#define DIRECT_CHUNK 64u
#define DIRECT_GUARD PAGE_SIZE
#define DIRECT_STRIDE (PAGE_SIZE + DIRECT_GUARD)
#define DIRECT_GUARD_BYTE 0x5a
#define DIRECT_CHUNKS_MAX 16384u
struct direct_chunk {
	unsigned char *base;
	unsigned long long pfn[DIRECT_CHUNK];	/* ~0 when free */
};
static struct direct_chunk *direct_chunks[DIRECT_CHUNKS_MAX];
static unsigned int direct_nchunks;
static unsigned int *direct_free;	/* free slots as chunk * DIRECT_CHUNK + i */
static unsigned int direct_free_n, direct_free_cap;

static void direct_grow(void)
{
	if (direct_nchunks == DIRECT_CHUNKS_MAX)
		kshim_host_fault(KSHIM_FAULT_NO_MEMORY, DIRECT_CHUNKS_MAX, 1);
	/* Every slot may be free at once (an unload frees them all): the list
	 * holds as many indices as there are slots. */
	if ((direct_nchunks + 1) * DIRECT_CHUNK > direct_free_cap) {
		/* Indices only (nobody keeps pointers into it): grow by copying. */
		unsigned int cap = (direct_nchunks + 1) * DIRECT_CHUNK * 2;
		unsigned int *nf = heap_alloc(cap * sizeof(unsigned int), 4);
		if (direct_free_n)
			memcpy(nf, direct_free, direct_free_n * sizeof(unsigned int));
		direct_free = nf;
		direct_free_cap = cap;
	}
	struct direct_chunk *c = heap_alloc(sizeof(*c), 8);
	c->base = heap_alloc(DIRECT_CHUNK * DIRECT_STRIDE, PAGE_SIZE);
	unsigned int n = direct_nchunks++;
	direct_chunks[n] = c;
	for (unsigned int i = DIRECT_CHUNK; i-- > 0;) {
		c->pfn[i] = ~0ULL;
		memset(c->base + (size_t)i * DIRECT_STRIDE + PAGE_SIZE, DIRECT_GUARD_BYTE, DIRECT_GUARD);
		direct_free[direct_free_n++] = n * DIRECT_CHUNK + i;
	}
}

static unsigned char *slot_addr(unsigned int slot)
{
	return direct_chunks[slot / DIRECT_CHUNK]->base + (size_t)(slot % DIRECT_CHUNK) * DIRECT_STRIDE;
}

/* A write past a direct-map page lands in the guard after it (in the
 * kernel: the next page of RAM, which the kexec code does not own). */
static void check_direct_guard(unsigned int slot)
{
	kshim_host_guard(slot_addr(slot) + PAGE_SIZE, DIRECT_GUARD, DIRECT_GUARD_BYTE, PAGE_SIZE);
}

/* The slot made last: where the list grows. */
static long direct_last = -1;

/* The slot holding address `a`, or -1 (chunks ascend: the heap grows up). */
static long direct_slot_of(uintptr_t a)
{
	unsigned int lo = 0, hi = direct_nchunks;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		uintptr_t b = (uintptr_t)direct_chunks[mid]->base;
		if (a < b)
			hi = mid;
		else if (a >= b + DIRECT_CHUNK * DIRECT_STRIDE)
			lo = mid + 1;
		else if ((a - b) % DIRECT_STRIDE >= PAGE_SIZE)
			return -1;	/* a guard */
		else
			return (long)(mid * DIRECT_CHUNK + (a - b) / DIRECT_STRIDE);
	}
	return -1;
}

static void *make_direct(struct page *page)
{
	if (!direct_free_n)
		direct_grow();
	unsigned int slot = direct_free[--direct_free_n];
	direct_chunks[slot / DIRECT_CHUNK]->pfn[slot % DIRECT_CHUNK] = page->kshim_pfn;
	void *buf = slot_addr(slot);
	direct_last = slot;
	if (page->kshim_window)
		memcpy(buf, page->kshim_window, PAGE_SIZE);
	else
		kshim_host_page_fill((long long)page->kshim_pfn, buf, KSHIM_BUF_DIRECT);
	page->kshim_direct = buf;
	return buf;
}

static void drop_direct(struct page *page)
{
	if (!page->kshim_direct)
		return;
	long slot = direct_slot_of((uintptr_t)page->kshim_direct);
	check_direct_guard((unsigned int)slot);
	kshim_host_page_store((long long)page->kshim_pfn, page->kshim_direct, KSHIM_BUF_DIRECT);
	if (direct_last == slot)
		direct_last = -1;
	direct_chunks[slot / DIRECT_CHUNK]->pfn[slot % DIRECT_CHUNK] = ~0ULL;
	direct_free[direct_free_n++] = (unsigned int)slot;
	page->kshim_direct = NULL;
}

void *page_address(const struct page *cpage)
{
	struct page *page = (struct page *)cpage;
	if (!(page->kshim_info & KSHIM_PAGE_DIRECT))
		return page->kshim_maps && page->kshim_window ? page->kshim_window : NULL;
	if (page->kshim_direct)
		return page->kshim_direct;
	return make_direct(page);
}

unsigned long kshim_virt_to_phys(const volatile void *p)
{
	uintptr_t a = (uintptr_t)p;
	long slot = direct_slot_of(a);
	if (slot >= 0) {
		unsigned long long pfn = direct_chunks[slot / DIRECT_CHUNK]->pfn[slot % DIRECT_CHUNK];
		if (pfn != ~0ULL)
			return (unsigned long)((pfn << PAGE_SHIFT) | (a & ~PAGE_MASK));
	}
	kshim_host_fault(KSHIM_FAULT_VIRT_TO_PHYS, a, 0);
}

void *kshim_phys_to_virt(unsigned long long phys)
{
	unsigned long long pfn = phys >> PAGE_SHIFT;
	unsigned int info = kshim_host_page_info(pfn);
	if (!(info & KSHIM_PAGE_RAM) || !(info & KSHIM_PAGE_DIRECT))
		kshim_host_fault(KSHIM_FAULT_PHYS_TO_VIRT, phys, info);
	return (char *)page_address(kshim_pfn_to_page(pfn)) + (phys & ~PAGE_MASK);
}

/* ------------------------------------------------------------------ */
/* kmap windows with guard areas                                       */

#define GUARD_SIZE (PAGE_SIZE * (sizeof(long) == 8 ? 8 : 4))
#define GUARD_BYTE 0xa5
#define SLOT_STRIDE (PAGE_SIZE + GUARD_SIZE)

static unsigned char *kmap_area;	/* KM_MAX_IDX slots */
static struct page *slot_page[KM_MAX_IDX];
static unsigned char null_guard_ok;

static void check_guard(unsigned int slot)
{
	kshim_host_guard(kmap_area + slot * SLOT_STRIDE + PAGE_SIZE, GUARD_SIZE, GUARD_BYTE, PAGE_SIZE);
}

static void check_null_page(void)
{
	kshim_host_guard((void *)(uintptr_t)8, PAGE_SIZE - 8, 0, 8);
}

static void *map_page(struct page *page)
{
	if (page->kshim_direct)
		return page->kshim_direct;
	if (page->kshim_window) {
		page->kshim_maps++;
		return page->kshim_window;
	}
	unsigned int slot = 0;
	while (slot < KM_MAX_IDX && slot_page[slot])
		slot++;
	if (slot == KM_MAX_IDX)
		kshim_host_fault(KSHIM_FAULT_KMAP_SLOTS, page->kshim_pfn, KM_MAX_IDX);
	void *w = kmap_area + slot * SLOT_STRIDE;
	slot_page[slot] = page;
	page->kshim_window = w;
	page->kshim_maps = 1;
	kshim_host_page_fill((long long)page->kshim_pfn, w, KSHIM_BUF_KMAP);
	return w;
}

void *kmap(struct page *page) { return map_page(page); }
void *kmap_local_page(struct page *page) { return map_page(page); }
void *kmap_atomic(struct page *page) { return map_page(page); }

void kshim_kunmap_addr(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	uintptr_t base = (uintptr_t)kmap_area;
	if (a >= base && a < base + KM_MAX_IDX * SLOT_STRIDE) {
		unsigned int slot = (unsigned int)((a - base) / SLOT_STRIDE);
		struct page *page = slot_page[slot];
		if (page && a - (base + slot * SLOT_STRIDE) < PAGE_SIZE) {
			check_guard(slot);
			check_null_page();
			if (--page->kshim_maps == 0) {
				kshim_host_page_store((long long)page->kshim_pfn, page->kshim_window, KSHIM_BUF_KMAP);
				if (page->kshim_direct)
					memcpy(page->kshim_direct, page->kshim_window, PAGE_SIZE);
				page->kshim_window = NULL;
				slot_page[slot] = NULL;
			}
			return;
		}
	}
	/* The address of a direct-mapped page: kmap returned page_address(). */
	if (direct_slot_of(a) >= 0) {
		check_null_page();
		return;
	}
	kshim_host_fault(KSHIM_FAULT_KUNMAP, a, 0);
}

void kunmap(struct page *page)
{
	if (page->kshim_window)
		kshim_kunmap_addr(page->kshim_window);
}

void clear_page(void *page) { memset(page, 0, PAGE_SIZE); }
void copy_page(void *to, void *from) { memcpy(to, from, PAGE_SIZE); }

void clear_highpage(struct page *page)
{
	void *p = kmap_local_page(page);
	clear_page(p);
	kunmap_local(p);
}

void copy_highpage(struct page *to, struct page *from)
{
	void *s = kmap_local_page(from);
	void *d = kmap_local_page(to);
	copy_page(d, s);
	kunmap_local(d);
	kunmap_local(s);
	kshim_host_event(KSHIM_EV_COPY_HIGHPAGE, to->kshim_pfn);
}

void *vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot)
{
	(void)flags;
	(void)prot;
	if (count != 1)
		kshim_host_fault(KSHIM_FAULT_UNSUPPORTED, 1, count);
	return kmap(pages[0]);
}

void vunmap(const void *addr) { kshim_kunmap_addr(addr); }

/* ------------------------------------------------------------------ */
/* What the rest of the kernel would provide                            */

int insert_resource(struct resource *parent, struct resource *r) { (void)parent; (void)r; return 0; }
int release_resource(struct resource *r) { (void)r; return 0; }

/* The arch hooks, as the model has them: machine_kexec_prepare allocates
 * nothing (a real i386 kernel allocates its page-table pages here, with
 * alloc_page, outside the kimage's pages). */
int machine_kexec_prepare(struct kimage *image) { (void)image; return 0; }
void machine_kexec_cleanup(struct kimage *image) { (void)image; }

#define UNSUPPORTED(n) kshim_host_fault(KSHIM_FAULT_UNSUPPORTED, (n), 0)
void machine_kexec(struct kimage *image) { (void)image; UNSUPPORTED(2); }
void machine_shutdown(void) { UNSUPPORTED(3); }
void machine_crash_shutdown(struct pt_regs *regs) { (void)regs; UNSUPPORTED(4); }
void crash_setup_regs(struct pt_regs *n, struct pt_regs *o) { (void)n; (void)o; UNSUPPORTED(5); }
void crash_save_vmcoreinfo(void) { UNSUPPORTED(6); }
void crash_update_vmcoreinfo_safecopy(void *ptr) { (void)ptr; }
u32 *append_elf_note(u32 *buf, char *name, unsigned int type, void *data, size_t len)
{
	(void)name; (void)type; (void)data; (void)len;
	return buf;
}
void final_note(u32 *buf) { (void)buf; }
void *__alloc_percpu(size_t size, size_t align) { return heap_alloc(size, align); }
void kernel_restart_prepare(char *cmd) { (void)cmd; UNSUPPORTED(7); }
void migrate_to_reboot_cpu(void) { UNSUPPORTED(8); }
void cpu_hotplug_enable(void) { }
void kmsg_dump(int reason) { (void)reason; }
void pm_prepare_console(void) { }
void pm_restore_console(void) { }
int freeze_processes(void) { return 0; }
void thaw_processes(void) { }
void suspend_console(void) { }
void resume_console(void) { }
int dpm_suspend_start(int s) { (void)s; return 0; }
int dpm_suspend_end(int s) { (void)s; return 0; }
void dpm_resume_start(int s) { (void)s; }
void dpm_resume_end(int s) { (void)s; }
int suspend_disable_secondary_cpus(void) { return 0; }
void suspend_enable_secondary_cpus(void) { }
int syscore_suspend(void) { return 0; }
void syscore_resume(void) { }
void make_task_dead(int signr) { (void)signr; UNSUPPORTED(9); }

/* ------------------------------------------------------------------ */
/* The shadow call stack (-finstrument-functions on the kernel files)   */

#define SHADOW_MAX 256
struct kshim_shadow {
	unsigned int depth;
	uintptr_t fn[SHADOW_MAX];
} kshim_shadow;

void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)site;
	if (kshim_shadow.depth < SHADOW_MAX)
		kshim_shadow.fn[kshim_shadow.depth] = (uintptr_t)fn;
	kshim_shadow.depth++;
}

void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn;
	(void)site;
	if (kshim_shadow.depth)
		kshim_shadow.depth--;
}

/* ------------------------------------------------------------------ */
/* Entry points for the host                                           */

/* The machine's arch values (asm/kexec.h's limits, totalram_pages()). */
__attribute__((export_name("kexec_sim_set_arch"))) void kexec_sim_set_arch(
	unsigned long long source_limit, unsigned long long destination_limit,
	unsigned long long control_limit, unsigned long long control_page_size,
	unsigned long long kexec_arch, unsigned long long totalram_pages,
	unsigned long long max_pfn)
{
	kshim_arch.source_memory_limit = source_limit;
	kshim_arch.destination_memory_limit = destination_limit;
	kshim_arch.control_memory_limit = control_limit;
	kshim_arch.control_page_size = (unsigned long)control_page_size;
	kshim_arch.kexec_arch = (unsigned long)kexec_arch;
	kshim_arch.totalram_pages = totalram_pages;
	kshim_arch.max_pfn = max_pfn;
}

/* Where the host finds the shadow stack: depth (u32), then the function
 * indices (uintptr_t each). */
__attribute__((export_name("kexec_sim_shadow"))) struct kshim_shadow *kexec_sim_shadow(void) { return &kshim_shadow; }

/* Set up the guard areas; call once after kexec_sim_arch is filled. */
__attribute__((export_name("kexec_sim_init"))) void kexec_sim_init(void)
{
	kmap_area = heap_alloc(KM_MAX_IDX * SLOT_STRIDE, PAGE_SIZE);
	for (unsigned int s = 0; s < KM_MAX_IDX; s++)
		memset(kmap_area + s * SLOT_STRIDE + PAGE_SIZE, GUARD_BYTE, GUARD_SIZE);
	null_guard_ok = 1;
}

/* kexec_load(entry, nr_segments, segments, flags): the segment array is at
 * user address `segments` (copy_from_user reads it from the host). */
__attribute__((export_name("kexec_sim_load"))) long kexec_sim_load(unsigned long entry, unsigned long nr, unsigned long segments, unsigned long flags)
{
	long r = sys_kexec_load(entry, nr, (struct kexec_segment __user *)segments, flags);
	check_null_page();
	for (unsigned int c = 0; c < direct_nchunks; c++)
		for (unsigned int i = 0; i < DIRECT_CHUNK; i++)
			check_direct_guard(c * DIRECT_CHUNK + i);
	return r;
}

/* The loaded image's head, or 0 when none is loaded. */
__attribute__((export_name("kexec_sim_head"))) unsigned long long kexec_sim_head(void)
{
	return kexec_image ? kexec_image->head : 0;
}

/* Reading a list back, a scratch buffer at a time: begin with the list
 * (0 control_pages, 1 dest_pages, 2 unusable_pages), then each next call
 * writes up to `max` pfns to `out` and returns how many (0: the end). */
static struct list_head *list_head_now, *list_pos;

__attribute__((export_name("kexec_sim_list_begin"))) void kexec_sim_list_begin(unsigned int which)
{
	list_head_now = NULL;
	if (!kexec_image)
		return;
	list_head_now = which == 0 ? &kexec_image->control_pages
		      : which == 1 ? &kexec_image->dest_pages : &kexec_image->unusable_pages;
	list_pos = list_head_now->next;
}

__attribute__((export_name("kexec_sim_list_next"))) unsigned long kexec_sim_list_next(unsigned long long *out, unsigned long max)
{
	unsigned long n = 0;
	if (!list_head_now)
		return 0;
	while (n < max && list_pos != list_head_now) {
		out[n++] = list_entry(list_pos, struct page, lru)->kshim_pfn;
		list_pos = list_pos->next;
	}
	return n;
}

/* The pfns of image->control_code_page and image->swap_page (~0: none). */
__attribute__((export_name("kexec_sim_control_code_pfn"))) unsigned long long kexec_sim_control_code_pfn(void)
{
	return kexec_image && kexec_image->control_code_page ? kexec_image->control_code_page->kshim_pfn : ~0ULL;
}

__attribute__((export_name("kexec_sim_swap_pfn"))) unsigned long long kexec_sim_swap_pfn(void)
{
	return kexec_image && kexec_image->swap_page ? kexec_image->swap_page->kshim_pfn : ~0ULL;
}

/* Hand every direct-map buffer's contents to the host (before it reads the
 * list the kernel left in memory). */
__attribute__((export_name("kexec_sim_flush"))) void kexec_sim_flush(void)
{
	for (unsigned int c = 0; c < direct_nchunks; c++)
		for (unsigned int i = 0; i < DIRECT_CHUNK; i++) {
			check_direct_guard(c * DIRECT_CHUNK + i);
			if (direct_chunks[c]->pfn[i] != ~0ULL)
				kshim_host_page_store((long long)direct_chunks[c]->pfn[i],
						      slot_addr(c * DIRECT_CHUNK + i), KSHIM_BUF_DIRECT);
		}
	check_null_page();
}

/* A scratch buffer the host may use to pass pfn lists. */
static unsigned long long scratch[4096];
__attribute__((export_name("kexec_sim_scratch"))) unsigned long long *kexec_sim_scratch(void) { return scratch; }

#pragma clang attribute pop
