//! The `Code` section payload of native kernels (layout in the [module docs](super)).

use serde::{Deserialize, Serialize};

use super::{CalleeSpec, NativeError, NativeKernelCode, ParamSpec};

/// The first 8 bytes of a native code section payload.
pub const SECTION_MAGIC: [u8; 8] = *b"LNATIVE\0";

/// The payload layout version this code writes and reads.
pub const SECTION_VERSION: u32 = 1;

/// The size of the fixed payload header.
const FIXED: usize = 24;

/// The alignment of each code blob.
const CODE_ALIGN: usize = 16;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    triple: String,
    features: Vec<String>,
    entry: u64,
    code_offset: u64,
    code_len: u64,
    params: Vec<Param>,
    callees: Vec<Callee>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Param {
    name: String,
    dtype: String,
    dims: Vec<u64>,
    strides: Vec<u64>,
    writable: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Callee {
    symbol: String,
    arity: u64,
}

/// Encodes kernels as a `Code` section payload. Code offsets in the header count from
/// the code area, which starts at the first 16-byte boundary after the header.
pub fn encode_section(kernels: &[NativeKernelCode]) -> Vec<u8> {
    let mut entries = Vec::with_capacity(kernels.len());
    let mut offset = 0usize;
    for k in kernels {
        entries.push(Entry {
            name: k.name.clone(),
            triple: k.triple.clone(),
            features: k.features.clone(),
            entry: k.entry as u64,
            code_offset: offset as u64,
            code_len: k.code.len() as u64,
            params: k
                .params
                .iter()
                .map(|p| Param {
                    name: p.name.clone(),
                    dtype: p.dtype.name().to_string(),
                    dims: p.dims.iter().map(|&d| d as u64).collect(),
                    strides: p.strides.iter().map(|&s| s as u64).collect(),
                    writable: p.writable,
                })
                .collect(),
            callees: k
                .callees
                .iter()
                .map(|c| Callee {
                    symbol: c.symbol.clone(),
                    arity: c.arity as u64,
                })
                .collect(),
        });
        offset = (offset + k.code.len()).next_multiple_of(CODE_ALIGN);
    }
    // Serializing plain structs of strings and integers cannot fail.
    let header = serde_json::to_vec(&entries).unwrap_or_default();
    let mut out = Vec::with_capacity(FIXED + header.len() + offset + CODE_ALIGN);
    out.extend_from_slice(&SECTION_MAGIC);
    out.extend_from_slice(&SECTION_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    let base = out.len().next_multiple_of(CODE_ALIGN);
    out.resize(base, 0);
    for (k, e) in kernels.iter().zip(&entries) {
        out.resize(base + e.code_offset as usize, 0);
        out.extend_from_slice(&k.code);
    }
    out
}

/// Decodes a `Code` section payload written by [`encode_section`], checking every field.
pub fn decode_section(bytes: &[u8]) -> Result<Vec<NativeKernelCode>, NativeError> {
    let bad = |m: String| Err(NativeError::Malformed(m));
    if bytes.len() < FIXED {
        return bad(format!(
            "the payload has {} bytes, fewer than its {FIXED}-byte header",
            bytes.len()
        ));
    }
    if bytes[..8] != SECTION_MAGIC {
        return bad("bad magic: not a native code section".into());
    }
    let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = word(8);
    if version != SECTION_VERSION {
        return bad(format!(
            "layout version {version}, but this build reads version {SECTION_VERSION}"
        ));
    }
    if word(12) != 0 {
        return bad("reserved field is not zero".into());
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[16..24]);
    let header_len = u64::from_le_bytes(len8);
    let header_end = usize::try_from(header_len)
        .ok()
        .and_then(|h| h.checked_add(FIXED))
        .filter(|&e| e <= bytes.len());
    let Some(header_end) = header_end else {
        return bad(format!("header length {header_len} runs past the payload"));
    };
    let entries: Vec<Entry> = match serde_json::from_slice(&bytes[FIXED..header_end]) {
        Ok(e) => e,
        Err(e) => return bad(format!("bad header: {e}")),
    };
    let base = header_end.next_multiple_of(CODE_ALIGN);
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let name = e.name;
        let range = usize::try_from(e.code_offset)
            .ok()
            .zip(usize::try_from(e.code_len).ok())
            .and_then(|(o, l)| Some((base.checked_add(o)?, l)))
            .and_then(|(s, l)| Some((s, s.checked_add(l)?)))
            .filter(|&(_, end)| end <= bytes.len());
        let Some((start, end)) = range else {
            return bad(format!("the code of kernel `{name}` lies outside the payload"));
        };
        let entry = usize::try_from(e.entry).ok().filter(|&x| x < end - start);
        let Some(entry) = entry else {
            return bad(format!("the entry of kernel `{name}` lies outside its code"));
        };
        let mut params = Vec::with_capacity(e.params.len());
        for p in e.params {
            let Ok(dtype) = p.dtype.parse() else {
                return bad(format!(
                    "kernel `{name}`, buffer `{}`: unknown dtype `{}`",
                    p.name, p.dtype
                ));
            };
            let to_usize = |v: Vec<u64>| v.into_iter().map(usize::try_from).collect::<Result<Vec<_>, _>>();
            let (Ok(dims), Ok(strides)) = (to_usize(p.dims), to_usize(p.strides)) else {
                return bad(format!(
                    "kernel `{name}`, buffer `{}`: a size does not fit this machine",
                    p.name
                ));
            };
            let spec = ParamSpec {
                name: p.name,
                dtype,
                dims,
                strides,
                writable: p.writable,
            };
            if spec.byte_len().is_none() {
                return bad(format!(
                    "kernel `{name}`, buffer `{}`: bad or overflowing shape",
                    spec.name
                ));
            }
            params.push(spec);
        }
        let mut callees = Vec::with_capacity(e.callees.len());
        for c in e.callees {
            let Ok(arity) = usize::try_from(c.arity) else {
                return bad(format!("kernel `{name}`: callee `{}` has a huge arity", c.symbol));
            };
            callees.push(CalleeSpec {
                symbol: c.symbol,
                arity,
            });
        }
        out.push(NativeKernelCode {
            name,
            triple: e.triple,
            features: e.features,
            code: bytes[start..end].to_vec(),
            entry,
            params,
            callees,
        });
    }
    Ok(out)
}
