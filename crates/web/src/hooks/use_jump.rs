//! Jumps of the entry lists to an entry (the first difference): a target
//! with a fresh token each time, so asking for the same entry again
//! scrolls there again after the user scrolled away.

use std::cell::Cell;
use std::rc::Rc;
use yew::prelude::*;

/// The current jump target and the way to ask for a new one.
#[derive(Clone)]
pub struct JumpHandle {
    target: UseStateHandle<Option<(u32, usize)>>,
    tokens: Rc<Cell<u32>>,
}

impl JumpHandle {
    /// The last jump asked: `(token, entry index)`, the lists' `jump` prop.
    pub fn target(&self) -> Option<(u32, usize)> {
        *self.target
    }

    /// Scroll the lists to entry `index`.
    pub fn to(&self, index: usize) {
        let token = self.tokens.get().wrapping_add(1);
        self.tokens.set(token);
        self.target.set(Some((token, index)));
    }
}

/// A jump target, `None` until the first jump.
#[hook]
pub fn use_jump() -> JumpHandle {
    let target = use_state(|| None);
    let tokens = use_memo((), |_| Cell::new(0));
    JumpHandle { target, tokens }
}
