//! The page's custom hooks, one per file. Each owns one side effect of the
//! page (the model worker, the URL, the keyboard, the theme, the embed's
//! height, the phone width, the labs' module, the explorer's workers) and keeps its
//! listeners and timers alive in effect cleanup or `use_mut_ref`, so the
//! components only lay out and wire.

pub mod use_debounced;
pub mod use_deferred;
pub mod use_embed_height;
pub mod use_explore;
pub mod use_jump;
pub mod use_keyboard;
pub mod use_labs_view;
pub mod use_model_worker;
pub mod use_narrow;
pub mod use_share;
pub mod use_theme;
pub mod use_url_sync;

pub use use_debounced::use_debounced;
pub use use_deferred::use_deferred;
pub use use_embed_height::use_embed_height;
pub use use_explore::use_explore;
pub use use_jump::use_jump;
pub use use_keyboard::use_keyboard;
pub use use_labs_view::use_labs_view;
pub use use_model_worker::use_model_worker;
pub use use_narrow::use_narrow;
pub use use_share::use_share;
pub use use_theme::use_theme;
pub use use_url_sync::use_url_sync;
