//! The placement view's state (to be filled by the view's reducer).
