//! Each lab view's state: a reducer (`State`, `Action`, `Reducible`) per
//! lab, pure and tested natively, as the kimage view's `kexec_web::state`
//! is. The views in `components` render it and dispatch actions.

pub mod hotplug;
pub mod pgtable;
pub mod placement;
