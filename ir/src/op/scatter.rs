//! Typed attributes of the scatter, gather-by-tuple and selection ops.

/// How a scatter combines an update with the value already there.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ScatterReduction {
    /// The update replaces the value.
    None,
    /// `value + update`.
    Add,
    /// `value * update`.
    Mul,
    /// The larger (NaN wins).
    Max,
    /// The smaller (NaN wins).
    Min,
}

/// Attributes of [`crate::Op::ScatterElements`].
///
/// Operands `data, indices, updates` (`indices` and `updates` of one shape and `data`'s
/// rank): `out[.., indices[i..], ..] = f(out[.., indices[i..], ..], updates[i..])` with the
/// index replacing axis `axis`; updates apply in row-major order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ScatterElementsAttrs {
    /// The indexed axis.
    pub axis: usize,
    /// How updates combine.
    pub reduction: ScatterReduction,
}

/// Attributes of [`crate::Op::ScatterNd`].
///
/// Operands `data, indices, updates`: each index tuple `indices[i.., :]` (of length
/// `k = indices.shape[-1]`) addresses a slice `data[t0, .., tk-1, ..]` that is combined with
/// `updates[i.., ..]`; tuples apply in row-major order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ScatterNdAttrs {
    /// How updates combine.
    pub reduction: ScatterReduction,
}

/// Attributes of [`crate::Op::GatherNd`].
///
/// Operands `data, indices`: the result is `indices.shape[..-1] + data.shape[batch_dims +
/// k..]`, each index tuple of length `k = indices.shape[-1]` picking a slice of `data`
/// within its batch entry (the leading `batch_dims` axes are shared).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GatherNdAttrs {
    /// Leading axes shared by `data` and `indices`.
    pub batch_dims: usize,
}

/// Attributes of [`crate::Op::Compress`].
///
/// Operands `input, condition` (rank-1 bool): keeps the slices along `axis` (of the
/// flattened input when `None`) where `condition` is true; `condition` may be shorter than
/// the axis (missing entries are false).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CompressAttrs {
    /// The selected axis; the flattened input when `None`.
    pub axis: Option<usize>,
}
