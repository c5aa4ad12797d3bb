//! The kernel error codes the model and the labs return, with their Linux
//! numbers on x86.

use std::fmt;

/// An errno the modelled kernel code can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errno {
    /// -EINVAL (22).
    EINVAL,
    /// -EADDRNOTAVAIL (99 on x86).
    EADDRNOTAVAIL,
    /// -ENOMEM (12).
    ENOMEM,
    /// -EBUSY (16).
    EBUSY,
    /// -EEXIST (17).
    EEXIST,
    /// -EFAULT (14): a copy from user space failed.
    EFAULT,
    /// -EPERM (1).
    EPERM,
}

impl Errno {
    /// The errno's name, as the kernel headers spell it.
    pub fn name(self) -> &'static str {
        match self {
            Errno::EINVAL => "EINVAL",
            Errno::EADDRNOTAVAIL => "EADDRNOTAVAIL",
            Errno::ENOMEM => "ENOMEM",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EFAULT => "EFAULT",
            Errno::EPERM => "EPERM",
        }
    }

    /// The errno's value on x86.
    pub fn number(self) -> i32 {
        match self {
            Errno::EINVAL => 22,
            Errno::EADDRNOTAVAIL => 99,
            Errno::ENOMEM => 12,
            Errno::EBUSY => 16,
            Errno::EEXIST => 17,
            Errno::EFAULT => 14,
            Errno::EPERM => 1,
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
