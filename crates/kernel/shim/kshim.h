/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * kshim.h: the kexec playground's kernel-API shim.
 *
 * Force-included (clang -include) before every kernel source file of a
 * kernel build. It gives kernel/kexec_core.c, kernel/kexec.c and
 * include/linux/kexec.h the kernel API they use, written for the
 * playground's simulated machine: every page allocation goes to the
 * model's page allocator, page contents live in the model's sparse store,
 * a highmem page has no direct mapping, and whatever the kernel would not
 * survive (a pfn that is not RAM, a direct-map address of a highmem page,
 * a BUG) ends the run as a fault. This is our own code: it reproduces the
 * kernel's interfaces (names, types, semantics), never its sources.
 *
 * The other header names the kernel files include are empty files made by
 * the build, so every definition lives here or in the kernel's own
 * headers taken from the tree (linux/kexec.h, uapi/linux/kexec.h).
 */
#ifndef KSHIM_H
#define KSHIM_H

/* ------------------------------------------------------------------ */
/* Configuration: kexec_load, no kexec_file, no KEXEC_JUMP, no compat.  */

#define __KERNEL__ 1
#define CONFIG_KEXEC 1
#define CONFIG_KEXEC_CORE 1
#define CONFIG_MMU 1
#define KBUILD_MODNAME "kexec"
#define __init
#define __exit
#define __initdata
#define __user
#define __percpu
#define __iomem
#define __force
#define __must_check
#define __always_inline inline __attribute__((always_inline))
#define __noclone
#define __weak __attribute__((weak))
#define __maybe_unused __attribute__((unused))
#define __aligned(x) __attribute__((aligned(x)))
#define __packed __attribute__((packed))
#define notrace __attribute__((no_instrument_function))
#define noinline __attribute__((noinline))
#define __cold
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define EXPORT_SYMBOL(x)
#define EXPORT_SYMBOL_GPL(x)
#define STACK_FRAME_NON_STANDARD(x)
#define subsys_initcall(f)
#define late_initcall(f)
#define core_initcall(f)
#define arch_initcall(f)
#define __setup(s, f)
#define early_param(s, f)
#define IS_ENABLED(x) 0
#define BUILD_BUG_ON(c) do { } while (0)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define barrier() __asm__ __volatile__("" ::: "memory")
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Types                                                               */

typedef __SIZE_TYPE__ size_t;
typedef long ssize_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef u8 __u8;
typedef u16 __u16;
typedef u32 __u32;
typedef u64 __u64;
typedef s32 __s32;
typedef s64 __s64;
typedef size_t __kernel_size_t;
typedef unsigned int gfp_t;
typedef u64 phys_addr_t;
typedef u64 dma_addr_t;
typedef u64 resource_size_t;
typedef long loff_t;
typedef int pid_t;
typedef unsigned short umode_t;
typedef u32 compat_ulong_t;
typedef u32 compat_uptr_t;
typedef u32 compat_size_t;
typedef struct { int counter; } atomic_t;
typedef struct { long counter; } atomic_long_t;
#define ATOMIC_INIT(i) { (i) }
typedef u32 note_buf_t[128];
typedef struct { unsigned long pgprot; } pgprot_t;
#define PAGE_KERNEL ((pgprot_t){ 0 })
#define VM_MAP 0x4

#define offsetof(t, m) __builtin_offsetof(t, m)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define typecheck(type, x) 1

#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b) ({ t _a = (a); t _b = (b); _a < _b ? _a : _b; })
#define max_t(t, a, b) ({ t _a = (a); t _b = (b); _a > _b ? _a : _b; })
#define roundup(x, y) ((((x) + ((y) - 1)) / (y)) * (y))
#define round_up(x, y) ((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y) ((x) & ~((__typeof__(x))((y) - 1)))
#define ALIGN(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define BITS_PER_LONG (sizeof(long) * 8)
#define ULONG_MAX (~0UL)
#define LONG_MAX ((long)(~0UL >> 1))
#define UINT_MAX (~0U)
#define INT_MAX ((int)(~0U >> 1))
#define SIZE_MAX (~(size_t)0)

static __always_inline unsigned long roundup_pow_of_two(unsigned long n)
{
	unsigned long r = 1;
	while (r < n)
		r <<= 1;
	return r;
}

/* ------------------------------------------------------------------ */
/* errno                                                               */

#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define E2BIG 7
#define ENOEXEC 8
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EINVAL 22
#define ENOSPC 28
#define EOVERFLOW 75
#define EADDRNOTAVAIL 99
#define EOPNOTSUPP 95
#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) unlikely((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static __always_inline void *ERR_PTR(long error) { return (void *)error; }
static __always_inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static __always_inline bool IS_ERR(const void *ptr) { return IS_ERR_VALUE((unsigned long)ptr); }
static __always_inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR(ptr); }

/* ------------------------------------------------------------------ */
/* Host: the playground's machine (implemented by the model)          */

#define KSHIM_IMPORT(name) __attribute__((import_module("kexec_shim"), import_name(#name)))

/* The model's page allocator: the first pfn of a 2^order block, or -1. */
KSHIM_IMPORT(alloc_pages) long long kshim_host_alloc_pages(unsigned int gfp, unsigned int order);
KSHIM_IMPORT(free_pages) void kshim_host_free_pages(long long pfn, unsigned int order);
/* Bits of KSHIM_PAGE_* for a pfn. */
KSHIM_IMPORT(page_info) unsigned int kshim_host_page_info(long long pfn);
/* Fill a 4 KiB buffer with a page's contents (kmap window, direct map). */
KSHIM_IMPORT(page_fill) void kshim_host_page_fill(long long pfn, void *buf, unsigned int why);
/* A page's buffer is given back: store its contents (kunmap, flush). */
KSHIM_IMPORT(page_store) void kshim_host_page_store(long long pfn, void *buf, unsigned int why);
/* copy_from_user: the number of bytes NOT copied. */
KSHIM_IMPORT(copy_from_user) unsigned long long kshim_host_copy_from_user(void *dst, unsigned long long src, unsigned long long n);
/* A guard area of `len` bytes that must all be `byte`; a byte that is not
 * is a wild write (the host faults, naming the address and `bias` + its
 * offset into the area). */
KSHIM_IMPORT(guard) void kshim_host_guard(const void *area, unsigned long len, unsigned int byte, unsigned long bias);
/* The kernel log. */
KSHIM_IMPORT(printk) void kshim_host_printk(const char *text, unsigned int len);
/* Something the kernel would not survive: the run ends. */
KSHIM_IMPORT(fault) void kshim_host_fault(unsigned int code, unsigned long long a, unsigned long long b) __attribute__((noreturn));
/* A named event the model counts (KSHIM_EV_*). */
KSHIM_IMPORT(event) void kshim_host_event(unsigned int what, unsigned long long a);

#define KSHIM_PAGE_RAM 1u
#define KSHIM_PAGE_HIGHMEM 2u	/* PageHighMem(): 6.1's zone-based test */
#define KSHIM_PAGE_DIRECT 4u	/* has a direct mapping (lowmem) */

/* kshim_host_page_fill/store: why the buffer exists */
#define KSHIM_BUF_KMAP 0u
#define KSHIM_BUF_DIRECT 1u

/* kshim_host_fault codes */
#define KSHIM_FAULT_BUG 1u		/* a = line */
#define KSHIM_FAULT_PFN 2u		/* pfn_to_page of a pfn that is not RAM */
#define KSHIM_FAULT_VIRT_TO_PHYS 3u	/* __pa of an address outside the direct map */
#define KSHIM_FAULT_PHYS_TO_VIRT 4u	/* __va of a highmem or non-RAM address */
#define KSHIM_FAULT_KMAP_SLOTS 5u	/* more than KM_MAX_IDX nested kmaps */
#define KSHIM_FAULT_KUNMAP 6u		/* kunmap of an address that is not mapped */
#define KSHIM_FAULT_WILD_WRITE 7u	/* a guard area was written: a = address */
#define KSHIM_FAULT_NO_MEMORY 8u	/* the shim's own heap cannot grow */
#define KSHIM_FAULT_UNSUPPORTED 9u	/* a = which kernel facility */
#define KSHIM_FAULT_DOUBLE_FREE 10u	/* a = pfn */

/* kshim_host_event kinds */
#define KSHIM_EV_COPY_HIGHPAGE 1u	/* a = destination pfn */
#define KSHIM_EV_WARN 2u		/* a = line */

/* The arch of the machine, set by the host before the load. */
struct kshim_arch {
	unsigned long long source_memory_limit;
	unsigned long long destination_memory_limit;
	unsigned long long control_memory_limit;
	unsigned long control_page_size;
	unsigned long kexec_arch;
	unsigned long long totalram_pages;
	unsigned long long max_pfn;
};
extern struct kshim_arch kshim_arch;

__attribute__((noreturn)) void kshim_bug(unsigned int code, unsigned long long a, unsigned long long b);

/* ------------------------------------------------------------------ */
/* printk                                                              */

#define KERN_EMERG "<0>"
#define KERN_ALERT "<1>"
#define KERN_CRIT "<2>"
#define KERN_ERR "<3>"
#define KERN_WARNING "<4>"
#define KERN_NOTICE "<5>"
#define KERN_INFO "<6>"
#define KERN_DEBUG "<7>"
#define KERN_CONT ""
int printk(const char *fmt, ...);
/* pr_fmt() is the kernel file's own (kexec.c and kexec_core.c define it). */
#define pr_emerg(fmt, ...) printk(KERN_EMERG pr_fmt(fmt), ##__VA_ARGS__)
#define pr_alert(fmt, ...) printk(KERN_ALERT pr_fmt(fmt), ##__VA_ARGS__)
#define pr_crit(fmt, ...) printk(KERN_CRIT pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...) printk(KERN_ERR pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) printk(KERN_WARNING pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warning pr_warn
#define pr_notice(fmt, ...) printk(KERN_NOTICE pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) printk(KERN_INFO pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...) do { } while (0)
#define pr_cont(fmt, ...) printk(KERN_CONT fmt, ##__VA_ARGS__)
#define pr_warn_once pr_warn
#define pr_err_once pr_err
#define pr_info_once pr_info

#define BUG() kshim_bug(KSHIM_FAULT_BUG, __LINE__, 0)
#define BUG_ON(c) do { if (unlikely(c)) BUG(); } while (0)
#define WARN_ON(c) ({ bool __w = !!(c); if (unlikely(__w)) kshim_host_event(KSHIM_EV_WARN, __LINE__); unlikely(__w); })
#define WARN_ON_ONCE(c) WARN_ON(c)
#define WARN(c, fmt, ...) ({ bool __w = !!(c); if (unlikely(__w)) { printk(KERN_WARNING fmt, ##__VA_ARGS__); kshim_host_event(KSHIM_EV_WARN, __LINE__); } unlikely(__w); })
#define WARN_ONCE WARN
#define panic(fmt, ...) kshim_bug(KSHIM_FAULT_BUG, __LINE__, 1)

/* ------------------------------------------------------------------ */
/* Memory: string functions, slab                                      */

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#define GFP_KERNEL_BITS 0u
#define ___GFP_DMA 0x01u
#define ___GFP_HIGHMEM 0x02u
#define ___GFP_DMA32 0x04u
#define ___GFP_MOVABLE 0x08u
#define ___GFP_ZERO 0x100u
#define ___GFP_NORETRY 0x10000u
#define ___GFP_HARDWALL 0x100000u
#define __GFP_DMA ((gfp_t)___GFP_DMA)
#define __GFP_HIGHMEM ((gfp_t)___GFP_HIGHMEM)
#define __GFP_DMA32 ((gfp_t)___GFP_DMA32)
#define __GFP_MOVABLE ((gfp_t)___GFP_MOVABLE)
#define __GFP_ZERO ((gfp_t)___GFP_ZERO)
#define __GFP_NORETRY ((gfp_t)___GFP_NORETRY)
#define __GFP_HARDWALL ((gfp_t)___GFP_HARDWALL)
#define __GFP_NOWARN ((gfp_t)0)
#define __GFP_RETRY_MAYFAIL ((gfp_t)0)
#define GFP_KERNEL ((gfp_t)GFP_KERNEL_BITS)
#define GFP_ATOMIC ((gfp_t)GFP_KERNEL_BITS)
#define GFP_NOWAIT ((gfp_t)GFP_KERNEL_BITS)
#define GFP_USER ((gfp_t)___GFP_HARDWALL)
#define GFP_HIGHUSER (GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE (GFP_HIGHUSER | __GFP_MOVABLE)
#define GFP_DMA __GFP_DMA
#define GFP_DMA32 __GFP_DMA32

void *kmalloc(size_t size, gfp_t flags);
void *kzalloc(size_t size, gfp_t flags);
void *kcalloc(size_t n, size_t size, gfp_t flags);
void *kmalloc_array(size_t n, size_t size, gfp_t flags);
void kfree(const void *p);
void *vmalloc(unsigned long size);
void *vzalloc(unsigned long size);
void vfree(const void *p);
void kvfree(const void *p);
void *memdup_user(const void __user *src, size_t len);
void *memdup_array_user(const void __user *src, size_t n, size_t size);
void *vmemdup_user(const void __user *src, size_t len);

unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
#define get_user(x, p) ({ (x) = 0; -EFAULT; })

/* ------------------------------------------------------------------ */
/* Lists                                                               */

struct list_head {
	struct list_head *next, *prev;
};
#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)
static __always_inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}
static __always_inline void kshim_list_link(struct list_head *n, struct list_head *prev,
				   struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}
static __always_inline void list_add(struct list_head *n, struct list_head *head)
{
	kshim_list_link(n, head, head->next);
}
static __always_inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	kshim_list_link(n, head->prev, head);
}
static __always_inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	e->next = (struct list_head *)0x100;
	e->prev = (struct list_head *)0x122;
}
static __always_inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}
static __always_inline int list_empty(const struct list_head *head)
{
	return head->next == head;
}
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_next_entry(pos, member) list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_entry_is_head(pos, head, member) (&(pos)->member == (head))
#define list_for_each(pos, head) for (pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_entry(pos, head, member)                                   \
	for (pos = list_first_entry(head, __typeof__(*pos), member);              \
	     !list_entry_is_head(pos, head, member); pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member)                           \
	for (pos = list_first_entry(head, __typeof__(*pos), member),              \
	    n = list_next_entry(pos, member);                                     \
	     !list_entry_is_head(pos, head, member);                              \
	     pos = n, n = list_next_entry(n, member))

/* ------------------------------------------------------------------ */
/* Locks and atomics (one task, one CPU)                               */

struct mutex { int locked; };
#define DEFINE_MUTEX(m) struct mutex m = { 0 }
#define mutex_lock(m) ((m)->locked = 1)
#define mutex_unlock(m) ((m)->locked = 0)
#define mutex_trylock(m) ((m)->locked ? 0 : ((m)->locked = 1))
typedef struct { int locked; } spinlock_t;
#define DEFINE_SPINLOCK(s) spinlock_t s = { 0 }
#define spin_lock(s) ((void)(s))
#define spin_unlock(s) ((void)(s))
#define spin_lock_irqsave(s, f) ((void)(s), (f) = 0)
#define spin_unlock_irqrestore(s, f) ((void)(s), (void)(f))
#define atomic_read(v) ((v)->counter)
#define atomic_set(v, i) ((v)->counter = (i))
#define atomic_set_release(v, i) ((v)->counter = (i))
#define atomic_inc(v) ((v)->counter++)
#define atomic_dec(v) ((v)->counter--)
static __always_inline int atomic_cmpxchg(atomic_t *v, int old, int new_)
{
	int cur = v->counter;
	if (cur == old)
		v->counter = new_;
	return cur;
}
#define atomic_cmpxchg_acquire atomic_cmpxchg
#define xchg(ptr, v) ({ __typeof__(*(ptr)) __old = *(ptr); *(ptr) = (v); __old; })
#define cmpxchg(ptr, o, n) ({ __typeof__(*(ptr)) __old = *(ptr); if (__old == (o)) *(ptr) = (n); __old; })
#define smp_mb() barrier()
#define smp_wmb() barrier()
#define smp_rmb() barrier()
#define local_irq_disable() do { } while (0)
#define local_irq_enable() do { } while (0)
#define local_irq_save(f) ((f) = 0)
#define local_irq_restore(f) ((void)(f))
#define preempt_disable() do { } while (0)
#define preempt_enable() do { } while (0)
#define cond_resched() do { } while (0)
#define might_sleep() do { } while (0)
#define in_interrupt() 0
#define raw_smp_processor_id() 0
#define smp_processor_id() 0
#define nr_cpu_ids 1
#define per_cpu_ptr(p, cpu) (p)
#define num_online_cpus() 1

/* ------------------------------------------------------------------ */
/* Tasks, capabilities, security                                       */

struct task_struct { int pid; int flags; };
extern struct task_struct *current;
#define fatal_signal_pending(t) 0
#define signal_pending(t) 0
#define CAP_SYS_BOOT 22
#define capable(c) 1
#define is_global_init(t) 0
enum kernel_load_data_id { LOADING_KEXEC_IMAGE = 2 };
enum lockdown_reason { LOCKDOWN_KEXEC = 3 };
#define security_kernel_load_data(id, contents) 0
#define security_locked_down(what) 0
extern int panic_on_oops;
extern bool crash_kexec_post_notifiers;
extern atomic_t panic_cpu;
#define PANIC_CPU_INVALID -1

/* ------------------------------------------------------------------ */
/* Pages                                                               */

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PFN_PHYS(pfn) ((phys_addr_t)(pfn) << PAGE_SHIFT)
#define PHYS_PFN(x) ((unsigned long)((x) >> PAGE_SHIFT))
#define PFN_UP(x) (((x) + PAGE_SIZE - 1) >> PAGE_SHIFT)
#define PFN_DOWN(x) ((x) >> PAGE_SHIFT)
#define offset_in_page(p) ((unsigned long)(p) & ~PAGE_MASK)

/*
 * struct page: what the kexec code touches (flags, lru, mapping,
 * private) plus the shim's own bookkeeping. Struct pages come in runs of
 * KSHIM_PAGE_RUN consecutive pfns, so `page + i` is pfn + i inside a
 * naturally aligned block, as with mem_map.
 */
struct page {
	unsigned long flags;
	struct list_head lru;
	void *mapping;
	unsigned long private;
	/* shim */
	unsigned long long kshim_pfn;
	void *kshim_direct;	/* direct-map buffer, once page_address() was used */
	void *kshim_window;	/* kmap window while mapped */
	unsigned int kshim_maps;	/* nested kmaps of the window */
	unsigned int kshim_info;	/* KSHIM_PAGE_* */
};
#define KSHIM_PAGE_RUN 64

#define PG_reserved 10
#define SetPageReserved(p) ((p)->flags |= 1UL << PG_reserved)
#define ClearPageReserved(p) ((p)->flags &= ~(1UL << PG_reserved))
#define PageReserved(p) (((p)->flags >> PG_reserved) & 1)
#define set_page_private(p, v) ((p)->private = (unsigned long)(v))
#define page_private(p) ((p)->private)
#define PageHighMem(p) (((p)->kshim_info & KSHIM_PAGE_HIGHMEM) != 0)

struct page *kshim_pfn_to_page(unsigned long long pfn);
#define pfn_to_page(pfn) kshim_pfn_to_page(pfn)
#define page_to_pfn(page) ((unsigned long)(page)->kshim_pfn)
#define page_to_phys(page) PFN_PHYS((page)->kshim_pfn)
#define pfn_valid(pfn) ((kshim_host_page_info(pfn) & KSHIM_PAGE_RAM) != 0)
#define virt_addr_valid(p) 1

/*
 * page_address(): the direct map of a lowmem page (its buffer made on
 * first use), NULL for a highmem page that no kmap() maps. Declared pure:
 * as in the kernel, computing it has no effect that matters, so a result
 * nobody reads (arch_kexec_post_alloc_pages' argument) costs nothing.
 */
void *page_address(const struct page *page) __attribute__((pure));
unsigned long kshim_virt_to_phys(const volatile void *p);
void *kshim_phys_to_virt(unsigned long long phys);
#define __pa(x) kshim_virt_to_phys((const volatile void *)(uintptr_t)(x))
#define __va(x) kshim_phys_to_virt(x)
#define virt_to_phys(x) kshim_virt_to_phys(x)
#define phys_to_virt(x) kshim_phys_to_virt(x)
#define virt_to_page(x) pfn_to_page(__pa(x) >> PAGE_SHIFT)

struct page *alloc_pages(gfp_t gfp, unsigned int order);
#define alloc_page(gfp) alloc_pages(gfp, 0)
void __free_pages(struct page *page, unsigned int order);
#define __free_page(page) __free_pages(page, 0)
void free_reserved_page(struct page *page);
unsigned long totalram_pages(void);
static __always_inline int get_order(unsigned long size)
{
	int order = 0;
	size = (size - 1) >> PAGE_SHIFT;
	while (size) {
		order++;
		size >>= 1;
	}
	return order;
}

/* The kmap family: a window per mapping, KM_MAX_IDX deep. */
#define KM_MAX_IDX 16
void *kmap(struct page *page);
void kunmap(struct page *page);
void *kmap_local_page(struct page *page);
void *kmap_atomic(struct page *page);
void kshim_kunmap_addr(const void *addr);
#define kunmap_local(addr) kshim_kunmap_addr(addr)
#define kunmap_atomic(addr) kshim_kunmap_addr(addr)
void clear_page(void *page);
void copy_page(void *to, void *from);
void clear_highpage(struct page *page);
void copy_highpage(struct page *to, struct page *from);
void *vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot);
void vunmap(const void *addr);

/* ------------------------------------------------------------------ */
/* Resources                                                           */

struct resource {
	resource_size_t start;
	resource_size_t end;
	const char *name;
	unsigned long flags;
	unsigned long desc;
	struct resource *parent, *sibling, *child;
};
#define IORESOURCE_MEM 0x00000200
#define IORESOURCE_BUSY 0x80000000
#define IORESOURCE_SYSRAM 0x01000000
#define IORESOURCE_SYSTEM_RAM (IORESOURCE_MEM | IORESOURCE_SYSRAM)
#define IORES_DESC_CRASH_KERNEL 5
extern struct resource iomem_resource;
static __always_inline resource_size_t resource_size(const struct resource *r)
{
	return r->end - r->start + 1;
}
int insert_resource(struct resource *parent, struct resource *r);
int release_resource(struct resource *r);

/* ------------------------------------------------------------------ */
/* The arch (asm/kexec.h): values of the machine the host simulates     */

#define KEXEC_SOURCE_MEMORY_LIMIT ((unsigned long)kshim_arch.source_memory_limit)
#define KEXEC_DESTINATION_MEMORY_LIMIT ((unsigned long)kshim_arch.destination_memory_limit)
#define KEXEC_CONTROL_MEMORY_LIMIT ((unsigned long)kshim_arch.control_memory_limit)
#define KEXEC_CONTROL_PAGE_SIZE (kshim_arch.control_page_size)
#define KEXEC_ARCH (kshim_arch.kexec_arch)

struct pt_regs { unsigned long regs[32]; };
struct kimage;
int machine_kexec_prepare(struct kimage *image);
void machine_kexec_cleanup(struct kimage *image);
void machine_kexec(struct kimage *image) __attribute__((noreturn));
void machine_shutdown(void);
void machine_crash_shutdown(struct pt_regs *regs);
void crash_setup_regs(struct pt_regs *newregs, struct pt_regs *oldregs);

/* crash_core.h */
#define CRASH_CORE_NOTE_NAME "CORE"
#define NT_PRSTATUS 1
struct elf_prstatus_common { int pr_pid; };
struct elf_prstatus { struct elf_prstatus_common common; struct pt_regs pr_reg; };
void crash_save_vmcoreinfo(void);
void crash_update_vmcoreinfo_safecopy(void *ptr);
u32 *append_elf_note(u32 *buf, char *name, unsigned int type, void *data, size_t data_len);
void final_note(u32 *buf);
#define elf_core_copy_regs(dst, regs) memcpy((dst), (regs), sizeof(struct pt_regs))
void *__alloc_percpu(size_t size, size_t align);

/* Reboot, suspend, console: kernel_kexec's path, never run by the playground. */
#define PMSG_FREEZE 0
void kernel_restart_prepare(char *cmd);
void migrate_to_reboot_cpu(void);
void cpu_hotplug_enable(void);
void kmsg_dump(int reason);
#define KMSG_DUMP_SHUTDOWN 5
void pm_prepare_console(void);
void pm_restore_console(void);
int freeze_processes(void);
void thaw_processes(void);
void suspend_console(void);
void resume_console(void);
int dpm_suspend_start(int state);
int dpm_suspend_end(int state);
void dpm_resume_start(int state);
void dpm_resume_end(int state);
int suspend_disable_secondary_cpus(void);
void suspend_enable_secondary_cpus(void);
int syscore_suspend(void);
void syscore_resume(void);
void make_task_dead(int signr) __attribute__((noreturn));

/* sysctl (CONFIG_SYSCTL is off: kexec_load_disabled has no knob here) */
struct ctl_table;

/* ------------------------------------------------------------------ */
/* System calls: SYSCALL_DEFINEn(name, ...) defines sys_<name>.        */

#define __KSHIM_MAP0(m, ...)
#define __KSHIM_MAP1(m, t, a, ...) m(t, a)
#define __KSHIM_MAP2(m, t, a, ...) m(t, a), __KSHIM_MAP1(m, __VA_ARGS__)
#define __KSHIM_MAP3(m, t, a, ...) m(t, a), __KSHIM_MAP2(m, __VA_ARGS__)
#define __KSHIM_MAP4(m, t, a, ...) m(t, a), __KSHIM_MAP3(m, __VA_ARGS__)
#define __KSHIM_MAP5(m, t, a, ...) m(t, a), __KSHIM_MAP4(m, __VA_ARGS__)
#define __KSHIM_MAP6(m, t, a, ...) m(t, a), __KSHIM_MAP5(m, __VA_ARGS__)
#define __KSHIM_MAP(n, ...) __KSHIM_MAP##n(__VA_ARGS__)
#define __KSHIM_DECL(t, a) t a
#define SYSCALL_DEFINE0(name) long sys_##name(void)
#define SYSCALL_DEFINEx(x, name, ...) long sys##name(__KSHIM_MAP(x, __KSHIM_DECL, __VA_ARGS__))
#define SYSCALL_DEFINE1(name, ...) SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)
#define SYSCALL_DEFINE2(name, ...) SYSCALL_DEFINEx(2, _##name, __VA_ARGS__)
#define SYSCALL_DEFINE3(name, ...) SYSCALL_DEFINEx(3, _##name, __VA_ARGS__)
#define SYSCALL_DEFINE4(name, ...) SYSCALL_DEFINEx(4, _##name, __VA_ARGS__)
#define SYSCALL_DEFINE5(name, ...) SYSCALL_DEFINEx(5, _##name, __VA_ARGS__)
#define SYSCALL_DEFINE6(name, ...) SYSCALL_DEFINEx(6, _##name, __VA_ARGS__)
struct kexec_segment;
long sys_kexec_load(unsigned long entry, unsigned long nr_segments,
		    struct kexec_segment __user *segments, unsigned long flags);

#endif /* KSHIM_H */
