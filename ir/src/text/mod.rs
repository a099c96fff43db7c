//! The canonical text format of a graph.
//!
//! One line per item:
//!
//! ```text
//! graph "digits"
//! input %0: f32[batch, 64] "input"
//! %1 = constant : f32[128, 64] "fc1.weight"
//! %2 = constant [0.5, -1.0] : f32[2] "c0"
//! %3 = gemm(%0, %1, _) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} : f32[batch, 128] "fc1"
//! output %3 "logits"
//! ```
//!
//! Values are numbered in definition order, attributes come in a fixed order per op, and
//! absent optional operands print as `_`. Constants of at most [`INLINE_LIMIT`] elements
//! print their data inline; larger ones are weights, named by their node and supplied to
//! the parser by the caller (an artifact stores them in its weight section).

mod lex;
mod parse;
mod print;

pub use parse::{parse_graph, ParseError};
pub use print::{print_graph, weights};

/// Constants with at most this many elements are printed inline.
pub const INLINE_LIMIT: usize = 8;
