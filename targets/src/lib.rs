//! Target descriptions of LightOS: what each code target is called and what it offers.
//!
//! Today the one target is the portable reference interpreter, whose "code" is the
//! program text itself; native CPU and GPU targets join this list with their cost models
//! and limits.

use std::fmt;
use std::str::FromStr;

/// A code target.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The reference interpreter: runs the IR text directly, on any host.
    Reference,
}

impl Target {
    /// Every target, in a fixed order.
    pub const ALL: [Target; 1] = [Target::Reference];

    /// The target's name, as used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Target::Reference => "reference",
        }
    }

    /// A one-line description.
    pub fn description(self) -> &'static str {
        match self {
            Target::Reference => "portable interpreter that defines the numerics of every op",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A target name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown target `{0}`; targets: reference")]
pub struct UnknownTarget(pub String);

impl FromStr for Target {
    type Err = UnknownTarget;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownTarget(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for t in Target::ALL {
            assert_eq!(t.name().parse::<Target>(), Ok(t));
        }
        assert_eq!("tpu".parse::<Target>(), Err(UnknownTarget("tpu".into())));
    }
}
