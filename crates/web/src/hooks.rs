//! The page's custom hooks, one per file. Each owns one side effect of the
//! page (the model worker, the URL, the keyboard, the theme, the embed's
//! height, the labs' module, the explorer's workers) and keeps its
//! listeners and timers alive in effect cleanup or `use_mut_ref`, so the
//! components only lay out and wire.

pub mod use_explore;

pub use use_explore::use_explore;
