//! Importers of the loss ops.

use lightos_ir::op::{LossReduction, NllLossAttrs, SoftmaxAttrs, SoftmaxKind};
use lightos_ir::Op;

use super::super::context::{ImportResult, Importer, NodeCx};

/// The `reduction` and `ignore_index` attributes.
fn nll_attrs(cx: &NodeCx) -> Result<NllLossAttrs, String> {
    let reduction = match cx.attrs.string_or("reduction", "mean")?.as_str() {
        "none" => LossReduction::None,
        "sum" => LossReduction::Sum,
        "mean" => LossReduction::Mean,
        other => return Err(format!("unknown reduction `{other}`")),
    };
    Ok(NllLossAttrs {
        reduction,
        ignore_index: cx.attrs.int("ignore_index")?,
    })
}

/// `NegativeLogLikelihoodLoss`.
pub(super) fn nll_loss(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = nll_attrs(cx)?;
    let ops = vec![Some(im.req(cx, 0)?), Some(im.req(cx, 1)?), im.input(cx, 2)?];
    im.emit(&cx.name, Op::NllLoss(attrs), ops)
}

/// `SoftmaxCrossEntropyLoss`: a log-softmax over the class axis (1) followed by the
/// negative log-likelihood loss; the second output is the log-softmax.
pub(super) fn softmax_cross_entropy(im: &mut Importer, cx: &NodeCx) -> ImportResult {
    let attrs = nll_attrs(cx)?;
    let x = im.req(cx, 0)?;
    if im.ty(x).rank() < 2 {
        return Err(format!("the scores must have rank 2 or more, got {}", im.ty(x)));
    }
    let log_softmax = SoftmaxAttrs {
        kind: SoftmaxKind::LogSoftmax,
        axis: 1,
        flatten: false,
    };
    let log_prob = im.emit1(
        &format!("{}_log_prob", cx.name),
        Op::Softmax(log_softmax),
        vec![Some(x)],
    )?;
    let ops = vec![Some(log_prob), Some(im.req(cx, 1)?), im.input(cx, 2)?];
    let loss = im.emit1(&cx.name, Op::NllLoss(attrs), ops)?;
    Ok(vec![loss, log_prob])
}
