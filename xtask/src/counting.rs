//! xtask's global allocator: the system's, counting the bytes each watched
//! thread holds and the most it held since its count was last restarted.
//!
//! The fuzzer ([`crate::fuzz`]) bounds what a case allocates with it; the
//! bench ([`crate::bench`]) reads the heap one design's run of the 1 GiB
//! image holds at its peak (issue 16's 64 MiB budget). A thread counts
//! only between [`count_this_thread`] and [`stop_counting`], in a slot of
//! its own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Most threads counted at once.
pub const SLOTS: usize = 64;
/// Past this, a counted thread's allocations are refused (the process then
/// aborts), so that a runaway fuzz case cannot take the machine down before
/// the fuzzer's watchdog catches it: twice what a case may allocate.
const REFUSE_BYTES: usize = 2 * crate::fuzz::MAX_CASE_BYTES;

static LIVE: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static PEAK: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

thread_local! {
    /// This thread's slot + 1 (0: not counted).
    static SLOT: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting what each watched thread holds.
pub struct Counting;

/// Count the calling thread's allocations in `slot` (below [`SLOTS`]).
pub fn count_this_thread(slot: usize) {
    assert!(slot < SLOTS, "slot {slot} of {SLOTS}");
    SLOT.with(|s| s.set(slot + 1));
}

/// Stop counting the calling thread.
pub fn stop_counting() {
    SLOT.with(|s| s.set(0));
}

/// Bytes the threads of `slot` hold now (what they allocated while
/// counted and have not freed).
pub fn live(slot: usize) -> usize {
    LIVE[slot].load(Ordering::Relaxed)
}

/// The most `slot` held since [`restart_peak`].
pub fn peak(slot: usize) -> usize {
    PEAK[slot].load(Ordering::Relaxed)
}

/// Start `slot`'s peak again from what it holds now, which is returned.
pub fn restart_peak(slot: usize) -> usize {
    let base = live(slot);
    PEAK[slot].store(base, Ordering::Relaxed);
    base
}

/// `f`'s result and the most heap it held at once over what the calling
/// thread held before it (counted in `slot`, which no other thread may
/// use meanwhile; the thread is not counted afterwards).
pub fn heap_peak<T>(slot: usize, f: impl FnOnce() -> T) -> (T, usize) {
    count_this_thread(slot);
    let base = restart_peak(slot);
    let r = f();
    let grew = peak(slot).saturating_sub(base);
    stop_counting();
    (r, grew)
}

fn slot() -> Option<usize> {
    SLOT.try_with(|s| s.get())
        .ok()
        .filter(|&s| s > 0)
        .map(|s| s - 1)
}

/// A freed block's bytes off `slot`'s count (never below zero: a block
/// allocated before the thread was counted may be freed while it is).
fn release(slot: usize, bytes: usize) {
    LIVE[slot].fetch_sub(
        bytes.min(LIVE[slot].load(Ordering::Relaxed)),
        Ordering::Relaxed,
    );
}

/// `bytes` more on `slot`'s count, unless that takes it past
/// [`REFUSE_BYTES`] (false: the allocation is refused).
fn grow(slot: usize, bytes: usize) -> bool {
    let live = LIVE[slot].fetch_add(bytes, Ordering::Relaxed) + bytes;
    if live > REFUSE_BYTES {
        LIVE[slot].fetch_sub(bytes, Ordering::Relaxed);
        return false;
    }
    PEAK[slot].fetch_max(live, Ordering::Relaxed);
    true
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counting only reads and writes atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if let Some(s) = slot() {
            if !grow(s, l.size()) {
                return std::ptr::null_mut();
            }
        }
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if let Some(s) = slot() {
            release(s, l.size());
        }
        // SAFETY: p was allocated by System with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if let Some(s) = slot() {
            if new > l.size() {
                if !grow(s, new - l.size()) {
                    return std::ptr::null_mut();
                }
            } else {
                release(s, l.size() - new);
            }
        }
        // SAFETY: as GlobalAlloc::realloc requires, passed on.
        unsafe { System.realloc(p, l, new) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peak_is_the_most_held_at_once_not_the_sum() {
        // Slot 63: the fuzz tests' workers start at 0.
        let ((), peak) = heap_peak(SLOTS - 1, || {
            for _ in 0..4 {
                let v = std::hint::black_box(vec![1u8; 1 << 20]);
                drop(v);
            }
            let a = std::hint::black_box(vec![1u8; 3 << 20]);
            let b = std::hint::black_box(vec![1u8; 1 << 20]);
            drop((a, b));
        });
        assert!(
            (4 << 20..5 << 20).contains(&peak),
            "4 MiB held at most, 8 allocated: {peak}"
        );
        assert_eq!(slot(), None, "the thread is no longer counted");
    }
}
