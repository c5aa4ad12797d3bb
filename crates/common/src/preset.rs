//! Presets: named scenarios from the seeds, each with what it shows.

/// A named scenario of some kind with what it shows.
#[derive(Debug, Clone)]
pub struct Preset<S> {
    /// Short name (`?preset=NAME`, `--preset NAME`).
    pub name: &'static str,
    /// Title for pickers.
    pub title: &'static str,
    /// What it shows and the outcome to expect (asserted by tests).
    pub expect: &'static str,
    /// The scenario.
    pub scenario: S,
}

/// The preset called `name` among `presets`.
pub fn find<S>(presets: Vec<Preset<S>>, name: &str) -> Option<Preset<S>> {
    presets.into_iter().find(|p| p.name == name)
}
