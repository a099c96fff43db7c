//! Typed attributes of the attention ops: scaled dot-product attention and rotary
//! position embedding.

use crate::dtype::DType;

/// What the fourth result of [`crate::Op::Attention`] (`qk_matmul_output`) holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum QkOutput {
    /// The scaled `Q * K^T` product (mode 0).
    Raw,
    /// The product after the soft cap (mode 1).
    Softcapped,
    /// The soft-capped product plus the attention bias (mode 2).
    Biased,
    /// The softmax probabilities after the fully-masked-row guard (mode 3).
    Softmax,
}

/// Attributes of [`crate::Op::Attention`].
///
/// Operands: `Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen?`. `Q`, `K`,
/// `V` are all rank 4 (`[batch, heads, seq, head_size]`) or all rank 3
/// (`[batch, seq, heads * head_size]`, split into heads by `q_num_heads` and
/// `kv_num_heads`). Results, always four: `Y`, `present_key`, `present_value` (the key and
/// value caches after appending `K` and `V`, rank 4) and `qk_matmul_output` (rank 4, see
/// [`QkOutput`]). The order of operations is documented on the reference kernel.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AttentionAttrs {
    /// Apply the bottom-right aligned causal mask.
    pub is_causal: bool,
    /// Heads of `Q` (required for rank-3 operands).
    pub q_num_heads: Option<usize>,
    /// Heads of `K` and `V` (required for rank-3 operands).
    pub kv_num_heads: Option<usize>,
    /// What the fourth result holds.
    pub qk_output: QkOutput,
    /// The scale of `Q * K^T`; `1 / sqrt(head_size)` when `None`.
    pub scale: Option<f32>,
    /// Soft cap `c` of the logits, `c * tanh(x / c)`; no cap when `0`.
    pub softcap: f32,
    /// The dtype the softmax computes in, when it differs from the operands'.
    pub softmax_precision: Option<DType>,
    /// Keys visible before the query's absolute position; unbounded when `None`.
    pub left_window: Option<usize>,
    /// Keys visible after the query's absolute position; unbounded when `None`.
    pub right_window: Option<usize>,
}

/// Attributes of [`crate::Op::RotaryEmbedding`].
///
/// Operands: `input` (`[batch, heads, seq, head_size]`, or `[batch, seq, hidden]` split
/// into `num_heads` heads), `cos_cache`, `sin_cache` (`[max_position, rotary_dim / 2]`
/// indexed by `position_ids?` (`[batch, seq]`), or `[batch, seq, rotary_dim / 2]`
/// without them). One result shaped like `input`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RotaryAttrs {
    /// Rotate pairs of neighbours `(2i, 2i + 1)` instead of the halves `(i, i + R/2)`.
    pub interleaved: bool,
    /// How many leading dims of each head rotate (even); all of them when `None`.
    pub rotary_dim: Option<usize>,
    /// Heads of a rank-3 input.
    pub num_heads: Option<usize>,
}
