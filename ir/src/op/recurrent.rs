//! Typed attributes of the recurrent layers ([`crate::Op::Rnn`]): the simple RNN, GRU and
//! LSTM cells of ONNX, with their directions, activations, clipping and layout, and their
//! text-format encoding.

use super::names::{AttrList, AttrValue};
use super::take::{push_f32s, Take};

/// The cell of a recurrent layer, with the attributes only that cell has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RnnCell {
    /// `H = f(X W^T + H R^T + Wb + Rb)`: one gate, one activation.
    Simple,
    /// Gated recurrent unit: gates `z, r, h` in ONNX's order, activations `f` (gates) and
    /// `g` (candidate).
    Gru {
        /// Apply the reset gate after the recurrent product (`r * (H Rh^T + Rbh)`) instead
        /// of before it (`(r * H) Rh^T + Rbh`).
        linear_before_reset: bool,
    },
    /// Long short-term memory: gates `i, o, f, c` in ONNX's order, activations `f`
    /// (gates), `g` (cell candidate) and `h` (cell output).
    Lstm {
        /// Couple the input and forget gates: the forget gate is `1 - i`.
        input_forget: bool,
    },
}

impl RnnCell {
    /// The number of gates, each `hidden_size` rows of `W` and `R`.
    pub fn gates(self) -> usize {
        match self {
            RnnCell::Simple => 1,
            RnnCell::Gru { .. } => 3,
            RnnCell::Lstm { .. } => 4,
        }
    }

    /// The number of activation functions per direction.
    pub fn activation_count(self) -> usize {
        match self {
            RnnCell::Simple => 1,
            RnnCell::Gru { .. } => 2,
            RnnCell::Lstm { .. } => 3,
        }
    }

    /// The number of results: `Y, Y_h`, and `Y_c` for the LSTM.
    pub fn results(self) -> usize {
        match self {
            RnnCell::Lstm { .. } => 3,
            _ => 2,
        }
    }

    /// The text-format name of the op.
    pub fn name(self) -> &'static str {
        match self {
            RnnCell::Simple => "rnn",
            RnnCell::Gru { .. } => "gru",
            RnnCell::Lstm { .. } => "lstm",
        }
    }
}

/// The direction a recurrent layer runs in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RnnDirection {
    /// From the first time step to the last.
    Forward,
    /// From the last (valid) time step to the first.
    Reverse,
    /// Both, with separate weights; direction 0 forward, 1 reverse.
    Bidirectional,
}

impl RnnDirection {
    /// The number of directions (the leading dim of `W`, `R`, `B`, `initial_h`).
    pub fn count(self) -> usize {
        match self {
            RnnDirection::Bidirectional => 2,
            _ => 1,
        }
    }

    /// The keyword of the direction in the text format.
    pub fn keyword(self) -> &'static str {
        match self {
            RnnDirection::Forward => "forward",
            RnnDirection::Reverse => "reverse",
            RnnDirection::Bidirectional => "bidirectional",
        }
    }
}

/// The activation functions a recurrent cell may use (ONNX's list).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RnnActivationKind {
    /// `max(0, x)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `alpha * x + beta`.
    Affine,
    /// `x` if `x >= 0`, else `alpha * x`.
    LeakyRelu,
    /// `x` if `x > alpha`, else 0.
    ThresholdedRelu,
    /// `alpha * tanh(beta * x)`.
    ScaledTanh,
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid,
    /// `x` if `x > 0`, else `alpha * (e^x - 1)`.
    Elu,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `ln(1 + e^x)`.
    Softplus,
}

/// An activation's kind, text keyword, ONNX name, whether it takes `alpha` and `beta`,
/// and their defaults.
type ActInfo = (RnnActivationKind, &'static str, &'static str, bool, bool, f32, f32);

/// Every activation's [`ActInfo`].
#[rustfmt::skip]
const ACTIVATIONS: &[ActInfo] = &[
    (RnnActivationKind::Relu, "relu", "Relu", false, false, 0.0, 0.0),
    (RnnActivationKind::Tanh, "tanh", "Tanh", false, false, 0.0, 0.0),
    (RnnActivationKind::Sigmoid, "sigmoid", "Sigmoid", false, false, 0.0, 0.0),
    (RnnActivationKind::Affine, "affine", "Affine", true, true, 1.0, 0.0),
    (RnnActivationKind::LeakyRelu, "leaky_relu", "LeakyRelu", true, false, 0.01, 0.0),
    (RnnActivationKind::ThresholdedRelu, "thresholded_relu", "ThresholdedRelu", true, false, 1.0, 0.0),
    (RnnActivationKind::ScaledTanh, "scaled_tanh", "ScaledTanh", true, true, 1.0, 1.0),
    (RnnActivationKind::HardSigmoid, "hard_sigmoid", "HardSigmoid", true, true, 0.2, 0.5),
    (RnnActivationKind::Elu, "elu", "Elu", true, false, 1.0, 0.0),
    (RnnActivationKind::Softsign, "softsign", "Softsign", false, false, 0.0, 0.0),
    (RnnActivationKind::Softplus, "softplus", "Softplus", false, false, 0.0, 0.0),
];

/// The table entry of `kind`.
fn entry(kind: RnnActivationKind) -> &'static ActInfo {
    // Every kind has an entry; Tanh's is the fallback that is never taken.
    ACTIVATIONS.iter().find(|e| e.0 == kind).unwrap_or(&ACTIVATIONS[1])
}

impl RnnActivationKind {
    /// The kind named `name` in ONNX's spelling (case-insensitive).
    pub fn from_onnx(name: &str) -> Option<RnnActivationKind> {
        ACTIVATIONS.iter().find(|e| e.2.eq_ignore_ascii_case(name)).map(|e| e.0)
    }

    /// The kind's keyword in the text format (snake case).
    pub fn keyword(self) -> &'static str {
        entry(self).1
    }

    /// The kind with text keyword `word`.
    pub fn from_keyword(word: &str) -> Option<RnnActivationKind> {
        ACTIVATIONS.iter().find(|e| e.1 == word).map(|e| e.0)
    }

    /// Whether the function takes `alpha`.
    pub fn uses_alpha(self) -> bool {
        entry(self).3
    }

    /// Whether the function takes `beta`.
    pub fn uses_beta(self) -> bool {
        entry(self).4
    }

    /// The default `alpha` (0 when unused).
    pub fn default_alpha(self) -> f32 {
        entry(self).5
    }

    /// The default `beta` (0 when unused).
    pub fn default_beta(self) -> f32 {
        entry(self).6
    }
}

/// One activation function with its parameters (0 where the kind takes none).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RnnActivation {
    /// The function.
    pub kind: RnnActivationKind,
    /// Its `alpha`.
    pub alpha: f32,
    /// Its `beta`.
    pub beta: f32,
}

impl RnnActivation {
    /// `kind` with its default parameters.
    pub fn new(kind: RnnActivationKind) -> RnnActivation {
        RnnActivation {
            kind,
            alpha: kind.default_alpha(),
            beta: kind.default_beta(),
        }
    }
}

/// Attributes of [`crate::Op::Rnn`].
///
/// Operands: `X, W, R, B?, sequence_lens?, initial_h?` and, for the LSTM, `initial_c?, P?`.
/// `X` is `[seq, batch, input]` (`[batch, seq, input]` when `batch_major`); `W` is
/// `[dirs, gates * hidden, input]`, `R` `[dirs, gates * hidden, hidden]`, `B`
/// `[dirs, 2 * gates * hidden]` (input biases then recurrent biases), `sequence_lens`
/// `[batch]` i32, `initial_h` and `initial_c` `[dirs, batch, hidden]` (batch first when
/// `batch_major`), `P` `[dirs, 3 * hidden]` (peepholes `i, o, f`).
/// Results: `Y` `[seq, dirs, batch, hidden]` (`[batch, seq, dirs, hidden]`), `Y_h` and
/// for the LSTM `Y_c`, `[dirs, batch, hidden]` (`[batch, dirs, hidden]`).
#[derive(Clone, Debug, PartialEq)]
pub struct RnnAttrs {
    /// The cell.
    pub cell: RnnCell,
    /// The direction.
    pub direction: RnnDirection,
    /// The hidden size.
    pub hidden_size: usize,
    /// The activations: `cell.activation_count()` per direction, forward's first.
    pub activations: Vec<RnnActivation>,
    /// Clip gate pre-activations to `[-clip, clip]`.
    pub clip: Option<f32>,
    /// ONNX `layout = 1`: batch is the leading axis of `X`, `Y`, the states.
    pub batch_major: bool,
}

/// The text name and attributes of a recurrent op.
///
/// Activations are one keyword, the per-slot names joined by `__`; their parameters are
/// listed as `activation_alpha` / `activation_beta` `f32[n]` tensors holding, in order, the
/// parameter of each activation that takes one (ONNX's convention), left out when empty.
pub(super) fn encode(a: &RnnAttrs) -> (&'static str, AttrList) {
    let names: Vec<&str> = a.activations.iter().map(|x| x.kind.keyword()).collect();
    let alphas: Vec<f32> = a
        .activations
        .iter()
        .filter(|x| x.kind.uses_alpha())
        .map(|x| x.alpha)
        .collect();
    let betas: Vec<f32> = a
        .activations
        .iter()
        .filter(|x| x.kind.uses_beta())
        .map(|x| x.beta)
        .collect();
    let mut attrs: AttrList = vec![
        ("direction", AttrValue::Ident(a.direction.keyword().into())),
        ("hidden_size", AttrValue::Int(a.hidden_size as i64)),
        ("batch_major", AttrValue::Bool(a.batch_major)),
    ];
    match a.cell {
        RnnCell::Simple => {}
        RnnCell::Gru { linear_before_reset } => {
            attrs.push(("linear_before_reset", AttrValue::Bool(linear_before_reset)))
        }
        RnnCell::Lstm { input_forget } => attrs.push(("input_forget", AttrValue::Bool(input_forget))),
    }
    attrs.push(("activations", AttrValue::Ident(names.join("__"))));
    push_f32s(&mut attrs, "activation_alpha", &alphas);
    push_f32s(&mut attrs, "activation_beta", &betas);
    if let Some(c) = a.clip {
        attrs.push(("clip", AttrValue::Float(c)));
    }
    (a.cell.name(), attrs)
}

/// Decodes `rnn`, `gru` or `lstm` from the attributes written by [`encode`].
pub(super) fn decode(name: &str, items: &mut Vec<(String, AttrValue)>) -> Result<RnnAttrs, String> {
    let mut t = Take(items);
    let direction = match t.ident("direction")?.as_str() {
        "forward" => RnnDirection::Forward,
        "reverse" => RnnDirection::Reverse,
        "bidirectional" => RnnDirection::Bidirectional,
        d => return Err(format!("unknown direction `{d}`")),
    };
    let hidden_size = t.usize("hidden_size")?;
    let batch_major = t.bool("batch_major")?;
    let cell = match name {
        "rnn" => RnnCell::Simple,
        "gru" => RnnCell::Gru {
            linear_before_reset: t.bool("linear_before_reset")?,
        },
        "lstm" => RnnCell::Lstm {
            input_forget: t.bool("input_forget")?,
        },
        _ => return Err(format!("unknown op `{name}`")),
    };
    let names = t.ident("activations")?;
    let alphas = t.opt_f32s("activation_alpha")?.unwrap_or_default();
    let betas = t.opt_f32s("activation_beta")?.unwrap_or_default();
    let clip = t.opt_float("clip")?;
    let mut alpha = alphas.into_iter();
    let mut beta = betas.into_iter();
    let mut activations = Vec::new();
    for word in names.split("__") {
        let kind = RnnActivationKind::from_keyword(word).ok_or_else(|| format!("unknown activation `{word}`"))?;
        let mut act = RnnActivation {
            kind,
            alpha: 0.0,
            beta: 0.0,
        };
        if kind.uses_alpha() {
            act.alpha = alpha.next().ok_or("too few activation_alpha values")?;
        }
        if kind.uses_beta() {
            act.beta = beta.next().ok_or("too few activation_beta values")?;
        }
        activations.push(act);
    }
    if alpha.next().is_some() || beta.next().is_some() {
        return Err("more activation_alpha or activation_beta values than activations take".into());
    }
    if activations.len() != cell.activation_count() * direction.count() {
        return Err(format!(
            "{name} {} needs {} activations, got {}",
            direction.keyword(),
            cell.activation_count() * direction.count(),
            activations.len()
        ));
    }
    Ok(RnnAttrs {
        cell,
        direction,
        hidden_size,
        activations,
        clip,
        batch_major,
    })
}
