//! The lab views, one per file.

pub mod capture;
pub mod findings;
pub mod hotplug;
pub mod lab_share;
pub mod labs;
pub mod pgtable;
pub mod placement;
