//! Static memory planning: one arena for every intermediate value, with buffers reused
//! once their values are dead.
//!
//! Each value a node defines (constants aside: they live in the weight section) is live
//! from its defining node to its last use; graph outputs stay live to the end. Buffers are
//! placed largest first (ties by value handle, so the plan is deterministic) at the lowest
//! 64-byte-aligned offset that overlaps no buffer live at the same time.

use lightos_ir::{Graph, Op, ValueDef, ValueId};

/// Alignment of every buffer in the arena.
pub const BUFFER_ALIGN: usize = 64;

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A value's size is not known (a symbolic dimension not bound).
    #[error("value {0} has no fixed size; bind its symbolic dimensions first")]
    NotFixed(String),
    /// Sizes overflow.
    #[error("the arena size overflows")]
    Overflow,
}

/// Where one value lives in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The value.
    pub value: ValueId,
    /// Byte offset in the arena.
    pub offset: usize,
    /// Byte size.
    pub size: usize,
    /// Index of the defining node.
    pub first: usize,
    /// Index of the last node that reads it (`usize::MAX` for graph outputs).
    pub last: usize,
}

/// A memory plan: the arena size and each value's slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// The arena's size in bytes: the plan's peak.
    pub arena_bytes: usize,
    /// Slots, in value order.
    pub slots: Vec<Slot>,
}

impl MemoryPlan {
    /// Plans `graph`, whose intermediate values must have fixed shapes.
    pub fn new(graph: &Graph) -> Result<MemoryPlan, PlanError> {
        let mut last_use = vec![None; graph.values().len()];
        for (i, node) in graph.nodes().iter().enumerate() {
            for v in node.operands.iter().flatten() {
                last_use[v.index()] = Some(i);
            }
        }
        for port in graph.outputs() {
            last_use[port.value.index()] = Some(usize::MAX);
        }
        let mut slots = Vec::new();
        for (index, value) in graph.values().iter().enumerate() {
            let ValueDef::Result { node, .. } = value.def else {
                continue;
            };
            if matches!(graph.node(node).op, Op::Constant(_)) {
                continue;
            }
            let id = ValueId(index as u32);
            let elements = value
                .ty
                .shape
                .num_elements()
                .map_err(|_| PlanError::NotFixed(format!("{id}: {}", value.ty)))?;
            let size = elements
                .checked_mul(value.ty.dtype.size_bytes())
                .ok_or(PlanError::Overflow)?;
            let first = node.index();
            slots.push(Slot {
                value: id,
                offset: 0,
                size,
                first,
                last: last_use[index].unwrap_or(first),
            });
        }
        MemoryPlan::from_slots(slots)
    }

    /// Places `slots` (their `value`, `size`, `first` and `last` set; any time scale,
    /// e.g. the steps of an executor) in one arena.
    pub fn from_slots(mut slots: Vec<Slot>) -> Result<MemoryPlan, PlanError> {
        let arena_bytes = place(&mut slots)?;
        Ok(MemoryPlan { arena_bytes, slots })
    }

    /// The sum of all buffer sizes: what the arena would need without reuse.
    pub fn unshared_bytes(&self) -> usize {
        self.slots.iter().map(|s| s.size).sum()
    }
}

fn overlaps_in_time(a: &Slot, b: &Slot) -> bool {
    a.first <= b.last && b.first <= a.last
}

/// Assigns offsets; returns the arena size.
fn place(slots: &mut [Slot]) -> Result<usize, PlanError> {
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by(|&a, &b| {
        slots[b]
            .size
            .cmp(&slots[a].size)
            .then(slots[a].value.cmp(&slots[b].value))
    });
    let mut placed: Vec<usize> = Vec::with_capacity(slots.len());
    let mut arena = 0usize;
    for i in order {
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&p| overlaps_in_time(&slots[p], &slots[i]))
            .map(|&p| (slots[p].offset, slots[p].offset + slots[p].size))
            .collect();
        busy.sort_unstable();
        let mut offset = 0usize;
        for (start, end) in busy {
            if offset.checked_add(slots[i].size).ok_or(PlanError::Overflow)? <= start {
                break;
            }
            offset = offset.max(end.next_multiple_of(BUFFER_ALIGN));
        }
        slots[i].offset = offset;
        arena = arena.max(offset.checked_add(slots[i].size).ok_or(PlanError::Overflow)?);
        placed.push(i);
    }
    Ok(arena)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightos_ir::{DType, TensorType, UnaryOp};

    /// A chain x -> relu -> relu -> relu: only two buffers are ever live at once.
    #[test]
    fn a_chain_reuses_buffers() {
        let mut g = Graph::new("chain");
        let ty = TensorType::fixed(DType::F32, &[1000]);
        let mut v = g.add_input("x", ty.clone());
        for i in 0..4 {
            let n = g.add_node(
                format!("r{i}"),
                Op::Unary(UnaryOp::Relu),
                vec![Some(v)],
                vec![ty.clone()],
            );
            v = g.node(n).results[0];
        }
        g.add_output("y", v);
        let plan = MemoryPlan::new(&g).unwrap();
        assert_eq!(plan.slots.len(), 4);
        assert_eq!(plan.unshared_bytes(), 16000);
        assert_eq!(plan.arena_bytes, 4000 + 4032);
        for a in &plan.slots {
            for b in &plan.slots {
                if a.value != b.value && overlaps_in_time(a, b) {
                    assert!(
                        a.offset + a.size <= b.offset || b.offset + b.size <= a.offset,
                        "{a:?} and {b:?} collide"
                    );
                }
            }
        }
    }

    #[test]
    fn symbolic_sizes_are_refused() {
        let mut g = Graph::new("sym");
        let ty = TensorType::new(DType::F32, lightos_ir::Shape(vec![lightos_ir::Dim::Sym("n".into())]));
        let x = g.add_input("x", ty.clone());
        let n = g.add_node("r", Op::Unary(UnaryOp::Relu), vec![Some(x)], vec![ty]);
        g.add_output("y", g.node(n).results[0]);
        assert!(matches!(MemoryPlan::new(&g), Err(PlanError::NotFixed(_))));
    }
}
