//! Independent pieces of work spread over threads, the results in the
//! order of the input (the model's own: no kernel function; the
//! explorer's exhaustive levels and the designs of one scenario run this
//! way, and their output does not depend on the number of threads).

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` over `items` on up to `jobs` threads, each with its own state from
/// `init`, the results in the order of `items`. One thread (no spawn) when
/// `jobs` is 1 or there are fewer than two items.
pub fn map<T: Sync, S, R: Send>(
    items: &[T],
    jobs: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    if jobs <= 1 || items.len() < 2 {
        let mut s = init();
        return items.iter().map(|x| f(&mut s, x)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..jobs.min(items.len()))
            .map(|_| {
                sc.spawn(|| {
                    let mut s = init();
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(x) = items.get(i) else { break };
                        out.push((i, f(&mut s, x)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker thread panicked"))
            .collect()
    });
    done.sort_unstable_by_key(|x| x.0);
    done.into_iter().map(|x| x.1).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn in_order_on_any_number_of_threads() {
        let items: Vec<u64> = (0..100).collect();
        let one = super::map(
            &items,
            1,
            || 0u64,
            |n, &x| {
                *n += 1;
                x * x
            },
        );
        assert_eq!(one, items.iter().map(|x| x * x).collect::<Vec<_>>());
        for jobs in [2, 3, 200] {
            assert_eq!(super::map(&items, jobs, || (), |_, &x| x * x), one);
        }
    }
}
