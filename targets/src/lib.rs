//! Target descriptions of LightOS: what each code target is called and what it offers.
//!
//! Each target has a [`CostModel`]: what a kernel launch, a byte moved through memory and
//! a floating-point operation cost there. The fusion pass extracts the cheapest program
//! under the model of the target it compiles for.

use std::fmt;
use std::str::FromStr;

/// A code target.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The reference interpreter: runs the IR text directly, on any host.
    Reference,
    /// The runtime's native CPU backend: packed microkernels and ahead-of-time code.
    Cpu,
}

impl Target {
    /// Every target, in a fixed order.
    pub const ALL: [Target; 2] = [Target::Reference, Target::Cpu];

    /// The target's name, as used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Target::Reference => "reference",
            Target::Cpu => "cpu",
        }
    }

    /// A one-line description.
    pub fn description(self) -> &'static str {
        match self {
            Target::Reference => "portable interpreter that defines the numerics of every op",
            Target::Cpu => "native CPU kernels (x86-64 with AVX2/AVX-512, aarch64 with NEON)",
        }
    }

    /// The target's cost model.
    pub fn cost_model(self) -> CostModel {
        match self {
            // One core walking the IR: about 1 GFLOP/s and 4 GB/s, a microsecond a node.
            Target::Reference => CostModel {
                launch_ns: 1000.0,
                bytes_per_ns: 4.0,
                flops_per_ns: 1.0,
                view_ns: 50.0,
            },
            // Measured on the 2-core AVX2 build machine: microkernels at 50-70 GFLOP/s,
            // about 10 GB/s of memory traffic per core, ~0.3 us to dispatch a step.
            Target::Cpu => CostModel {
                launch_ns: 300.0,
                bytes_per_ns: 10.0,
                flops_per_ns: 60.0,
                view_ns: 20.0,
            },
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
#[error("unknown target `{0}`; targets: reference, cpu")]
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

/// What running a kernel costs on a target, in nanoseconds.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CostModel {
    /// Fixed cost of one kernel launch (dispatch, thread wake-up, bookkeeping).
    pub launch_ns: f64,
    /// Memory bandwidth: bytes read or written per nanosecond.
    pub bytes_per_ns: f64,
    /// Arithmetic throughput: floating-point operations per nanosecond.
    pub flops_per_ns: f64,
    /// Cost of an op that only relabels its operand (reshape, squeeze, identity), which
    /// the runtime runs as a view without moving data.
    pub view_ns: f64,
}

impl CostModel {
    /// The cost of one kernel that moves `bytes` and performs `flops`.
    pub fn kernel(&self, bytes: f64, flops: f64) -> f64 {
        self.launch_ns + bytes / self.bytes_per_ns + flops / self.flops_per_ns
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

    #[test]
    fn a_kernel_costs_its_launch_traffic_and_arithmetic() {
        let m = Target::Cpu.cost_model();
        let k = m.kernel(1000.0, 6000.0);
        assert_eq!(k, m.launch_ns + 1000.0 / m.bytes_per_ns + 6000.0 / m.flops_per_ns);
        assert!(m.view_ns < m.launch_ns);
    }
}
