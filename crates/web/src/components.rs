//! The page's components, one per file.

pub mod app;
pub mod embed;
pub mod entry_list;
pub mod explore;
pub mod help;
pub mod hotplug;
pub mod lab_share;
pub mod labs;
pub mod memory_map;
pub mod pane;
pub mod pgtable;
pub mod placement;
pub mod progress;
pub mod scenario_bar;
pub mod segments_table;
pub mod share_bar;
pub mod timeline;

use std::rc::Rc;

/// Entry words of a run, compared by identity (a 1 GiB list is 262,144
/// words: props must not compare them by value on every render).
#[derive(Clone, Debug)]
pub struct Words(pub Rc<Vec<u64>>);

impl PartialEq for Words {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// The index of the first entry where two lists differ (a missing entry
/// counts), or `None` when they are identical.
pub fn first_difference(a: &[u64], b: &[u64]) -> Option<usize> {
    let n = a.len().min(b.len());
    (0..n)
        .find(|&i| a[i] != b[i])
        .or((a.len() != b.len()).then_some(n))
}
