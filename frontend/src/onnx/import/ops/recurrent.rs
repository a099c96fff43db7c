//! Importers of the recurrent layers `RNN`, `GRU` and `LSTM` (opsets 7 to 22: the forms
//! differ only in `layout`, added in 14, which defaults to 0).

use lightos_ir::{Op, RnnActivation, RnnActivationKind, RnnAttrs, RnnCell, RnnDirection};

use super::super::context::{ImportResult, Importer, NodeCx};

/// The `activations` attribute (a list of strings), if present.
fn activation_names(cx: &NodeCx) -> Result<Option<Vec<String>>, String> {
    let Some(a) = cx.node.attribute.iter().find(|a| a.name == "activations") else {
        return Ok(None);
    };
    a.strings
        .iter()
        .map(|s| String::from_utf8(s.clone()).map_err(|_| "attribute `activations` is not UTF-8".to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The activations of every direction, with their parameters resolved.
///
/// `activation_alpha` and `activation_beta` are consumed in order by the activations that
/// take the parameter (as onnxruntime reads them); missing ones get the defaults. When a
/// bidirectional layer lists only one direction's activations, the reverse direction
/// uses the same.
fn activations(cx: &NodeCx, cell: RnnCell, direction: RnnDirection) -> Result<Vec<RnnActivation>, String> {
    let per = cell.activation_count();
    let names = match activation_names(cx)? {
        Some(n) if !n.is_empty() => n,
        _ => match cell {
            RnnCell::Simple => vec!["Tanh".into()],
            RnnCell::Gru { .. } => vec!["Sigmoid".into(), "Tanh".into()],
            RnnCell::Lstm { .. } => vec!["Sigmoid".into(), "Tanh".into(), "Tanh".into()],
        },
    };
    let want = per * direction.count();
    if names.len() != want && names.len() != per {
        return Err(format!(
            "{} {} needs {want} activations, got {}",
            cx.node.op_type,
            direction.keyword(),
            names.len()
        ));
    }
    let alphas = cx.attrs.floats("activation_alpha")?.unwrap_or_default();
    let betas = cx.attrs.floats("activation_beta")?.unwrap_or_default();
    let (mut alpha, mut beta) = (alphas.into_iter(), betas.into_iter());
    let mut out = Vec::with_capacity(want);
    for name in &names {
        let kind = RnnActivationKind::from_onnx(name).ok_or_else(|| format!("unknown activation `{name}`"))?;
        let mut act = RnnActivation::new(kind);
        if kind.uses_alpha() {
            if let Some(v) = alpha.next() {
                act.alpha = v;
            }
        }
        if kind.uses_beta() {
            if let Some(v) = beta.next() {
                act.beta = v;
            }
        }
        out.push(act);
    }
    while out.len() < want {
        out.push(out[out.len() - per]);
    }
    Ok(out)
}

/// `RNN`, `GRU` and `LSTM`: one [`Op::Rnn`] with the cell of the op type.
pub(super) fn rnn(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let a = &cx.attrs;
    let cell = match cx.node.op_type.as_str() {
        "RNN" => RnnCell::Simple,
        "GRU" => RnnCell::Gru {
            linear_before_reset: a.int_or("linear_before_reset", 0)? != 0,
        },
        "LSTM" => RnnCell::Lstm {
            input_forget: a.int_or("input_forget", 0)? != 0,
        },
        other => return Err(format!("`{other}` is not a recurrent op")),
    };
    let direction = match a.string_or("direction", "forward")?.as_str() {
        "forward" => RnnDirection::Forward,
        "reverse" => RnnDirection::Reverse,
        "bidirectional" => RnnDirection::Bidirectional,
        d => return Err(format!("unknown direction `{d}`")),
    };
    let x = im.req(cx, 0)?;
    let w = im.req(cx, 1)?;
    let r = im.req(cx, 2)?;
    let hidden_size = match a.int("hidden_size")? {
        Some(h) => usize::try_from(h).map_err(|_| format!("hidden_size {h} is negative"))?,
        None => im
            .ty(r)
            .shape
            .dims()
            .get(2)
            .and_then(|d| d.fixed())
            .ok_or("hidden_size is missing and R's last dim is not fixed")?,
    };
    let layout = a.int_or("layout", 0)?;
    if !(0..=1).contains(&layout) {
        return Err(format!("layout must be 0 or 1, got {layout}"));
    }
    let clip = a.float("clip")?;
    if clip.is_some_and(|c| c.is_nan() || c < 0.0) {
        return Err(format!("clip must be a non-negative number, got {clip:?}"));
    }
    let attrs = RnnAttrs {
        cell,
        direction,
        hidden_size,
        activations: activations(cx, cell, direction)?,
        clip,
        batch_major: layout == 1,
    };
    let slots = if matches!(cell, RnnCell::Lstm { .. }) { 8 } else { 6 };
    if cx.input_count() > slots {
        return Err(format!(
            "{} takes at most {slots} inputs, got {}",
            cx.node.op_type,
            cx.input_count()
        ));
    }
    let mut operands = vec![Some(x), Some(w), Some(r)];
    for i in 3..cx.input_count() {
        operands.push(im.input(cx, i)?);
    }
    while operands.last().is_some_and(|o| o.is_none()) {
        operands.pop();
    }
    im.emit(&cx.name, Op::Rnn(attrs), operands)
}
