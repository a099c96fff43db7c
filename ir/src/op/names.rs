use super::Op;
pub(super) fn op_name(_op: &Op) -> String { String::new() }
