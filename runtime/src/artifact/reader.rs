//! Reading and checking `.lart` files.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use xxhash_rust::xxh3::xxh3_64;

use super::{
    ArtifactError, SectionInfo, SectionKind, END_MAGIC, FOOTER_LEN, FORMAT_VERSION, HEADER_LEN, MAGIC,
    MAX_SECTION_ALIGN, MAX_SECTION_NAME_LEN, MIN_FILE_LEN, SECTION_ALIGN, SECTION_ENTRY_LEN,
};

/// The name used in messages for artifacts read from memory.
const IN_MEMORY: &str = "in-memory data";

/// A checked, read-only artifact.
///
/// Once constructed, the magic, version, length, checksum and every offset have been
/// checked, so the accessors cannot fail.
pub struct Artifact {
    data: Data,
    path: Option<PathBuf>,
    manifest: String,
    sections: Vec<SectionInfo>,
    checksum: u64,
}

/// The artifact's bytes.
enum Data {
    /// A read-only memory map of the file.
    Mapped(Arc<Mmap>),
    /// A 64-byte aligned copy in memory.
    Owned(AlignedBytes),
}

impl Data {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Owned(b) => b.bytes(),
        }
    }
}

/// A 64-byte aligned block, so section payloads are aligned in memory as in the file.
#[derive(Copy, Clone, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
struct Block([u8; 64]);

/// Bytes in 64-byte aligned storage.
struct AlignedBytes {
    blocks: Vec<Block>,
    len: usize,
}

impl AlignedBytes {
    fn new(bytes: &[u8]) -> AlignedBytes {
        let mut blocks = vec![Block([0; 64]); bytes.len().div_ceil(64)];
        bytemuck::cast_slice_mut::<Block, u8>(&mut blocks)[..bytes.len()].copy_from_slice(bytes);
        AlignedBytes {
            blocks,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<Block, u8>(&self.blocks)[..self.len]
    }
}

impl Artifact {
    /// Opens, memory-maps and checks the artifact at `path`.
    ///
    /// The file must not be modified or truncated while the artifact, or any tensor viewing
    /// its memory map, is alive.
    pub fn open(path: impl AsRef<Path>) -> Result<Artifact, ArtifactError> {
        let path = path.as_ref();
        let io_err = |action: &'static str| {
            move |source: io::Error| ArtifactError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        let mut file = File::open(path).map_err(io_err("open"))?;
        let meta = file.metadata().map_err(io_err("open"))?;
        if !meta.is_file() {
            return Err(io_err("open")(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let file_name = path.display().to_string();
        if meta.len() < MIN_FILE_LEN as u64 {
            // Too short to map usefully (and empty maps are awkward): read it to classify it.
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(io_err("read"))?;
            let (manifest, sections, checksum) = check(&bytes, &file_name)?;
            return Ok(Artifact {
                data: Data::Owned(AlignedBytes::new(&bytes)),
                path: Some(path.to_path_buf()),
                manifest,
                sections,
                checksum,
            });
        }
        // SAFETY: the map is read-only. Its contents could change if another process wrote to
        // the file while it is mapped; the format's rule (documented on `open` and in the
        // module) is that artifacts are replaced by rename, never modified in place.
        let map = unsafe { Mmap::map(&file) }.map_err(io_err("memory-map"))?;
        let (manifest, sections, checksum) = check(&map, &file_name)?;
        Ok(Artifact {
            data: Data::Mapped(Arc::new(map)),
            path: Some(path.to_path_buf()),
            manifest,
            sections,
            checksum,
        })
    }

    /// Checks an artifact held in memory. The bytes are copied into 64-byte aligned storage,
    /// so section payloads are aligned as they would be in a memory map.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Artifact, ArtifactError> {
        let (manifest, sections, checksum) = check(&bytes, IN_MEMORY)?;
        Ok(Artifact {
            data: Data::Owned(AlignedBytes::new(&bytes)),
            path: None,
            manifest,
            sections,
            checksum,
        })
    }

    /// The manifest text (normally JSON).
    pub fn manifest(&self) -> &str {
        &self.manifest
    }

    /// Every section, in index order.
    pub fn sections(&self) -> &[SectionInfo] {
        &self.sections
    }

    /// The table entry of the section called `name`.
    pub fn section_info(&self, name: &str) -> Option<&SectionInfo> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The payload of the section called `name`.
    pub fn section(&self, name: &str) -> Option<&[u8]> {
        self.section_info(name).map(|s| self.payload(s))
    }

    /// The payload of the section at `index` (as returned by
    /// [`ArtifactWriter::add_section`](super::ArtifactWriter::add_section)).
    pub fn section_at(&self, index: usize) -> Option<&[u8]> {
        self.sections.get(index).map(|s| self.payload(s))
    }

    /// The byte offset of the section called `name` from the start of the file, a multiple of
    /// 64. Add it to an offset within the section to view data in place through
    /// [`Artifact::mmap`], e.g. with `Tensor::from_mmap`.
    pub fn section_offset(&self, name: &str) -> Option<usize> {
        self.section_info(name).map(|s| s.offset)
    }

    /// The memory map of the file, for views that outlive this `Artifact`; `None` for an
    /// artifact built with [`Artifact::from_bytes`] (or a file too small to map).
    pub fn mmap(&self) -> Option<Arc<Mmap>> {
        match &self.data {
            Data::Mapped(m) => Some(Arc::clone(m)),
            Data::Owned(_) => None,
        }
    }

    /// Every byte of the file, footer included.
    pub fn as_bytes(&self) -> &[u8] {
        self.data.bytes()
    }

    /// The path the artifact was opened from; `None` for [`Artifact::from_bytes`].
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The xxh3-64 checksum recorded in (and verified against) the footer; it identifies
    /// the artifact's contents.
    pub fn checksum(&self) -> u64 {
        self.checksum
    }

    fn payload(&self, s: &SectionInfo) -> &[u8] {
        &self.data.bytes()[s.offset..s.offset + s.len]
    }
}

impl fmt::Debug for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Artifact")
            .field("path", &self.path)
            .field("len", &self.data.bytes().len())
            .field("mapped", &matches!(self.data, Data::Mapped(_)))
            .field("checksum", &format_args!("{:#018x}", self.checksum))
            .field("manifest_len", &self.manifest.len())
            .field("sections", &self.sections)
            .finish()
    }
}

/// Classifies a buffer too short to be an artifact: foreign, or a cut artifact.
fn check_prefix(bytes: &[u8], file: &str) -> Result<(), ArtifactError> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(ArtifactError::NotAnArtifact { file: file.to_string() });
    }
    Ok(())
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Checks a whole artifact and returns its manifest, section table and checksum.
///
/// Every index below is bounds-checked first; the `le_*` reads only touch ranges already
/// known to be in the buffer.
fn check(bytes: &[u8], file: &str) -> Result<(String, Vec<SectionInfo>, u64), ArtifactError> {
    let len = bytes.len();
    let truncated = |expected_at_least: u64| ArtifactError::Truncated {
        file: file.to_string(),
        expected_at_least,
        actual: len as u64,
    };
    check_prefix(bytes, file)?;
    if len < MAGIC.len() + 4 {
        return Err(truncated(MIN_FILE_LEN as u64));
    }
    let version = le_u32(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(ArtifactError::UnsupportedVersion {
            file: file.to_string(),
            version,
        });
    }
    if len < 24 {
        return Err(truncated(MIN_FILE_LEN as u64));
    }
    let recorded_len = le_u64(bytes, 16);
    if (len as u64) < recorded_len.max(MIN_FILE_LEN as u64) {
        return Err(truncated(recorded_len.max(MIN_FILE_LEN as u64)));
    }
    let malformed = |detail: String| ArtifactError::Malformed {
        file: file.to_string(),
        detail,
    };
    if len as u64 != recorded_len {
        return Err(malformed(format!(
            "the header records a file length of {recorded_len} bytes but the file has {len} \
             (extra data at the end)"
        )));
    }
    let body_len = len - FOOTER_LEN;
    if bytes[len - 8..] != END_MAGIC {
        return Err(ArtifactError::MissingEndMarker { file: file.to_string() });
    }
    let expected = le_u64(bytes, body_len);
    let actual = xxh3_64(&bytes[..body_len]);
    if expected != actual {
        return Err(ArtifactError::Corrupted {
            file: file.to_string(),
            expected,
            actual,
        });
    }

    // The contents are as written; now check that what was written makes sense.
    let flags = le_u32(bytes, 12);
    if flags != 0 {
        return Err(malformed(format!(
            "unknown header flags {flags:#010x} (format version 1 defines none)"
        )));
    }
    if le_u32(bytes, 52) != 0 || le_u64(bytes, 56) != 0 {
        return Err(malformed("reserved header fields are not zero".into()));
    }
    // `used` collects every non-empty byte range, to check that none overlap.
    let mut used: Vec<(Range<u64>, String)> = vec![(0..HEADER_LEN as u64, "the header".into())];
    let range = |what: &str, off: u64, size: u64| -> Result<Range<u64>, ArtifactError> {
        match off.checked_add(size) {
            Some(end) if off >= HEADER_LEN as u64 && end <= body_len as u64 => Ok(off..end),
            _ => Err(malformed(format!(
                "{what} (offset {off}, length {size}) is outside the file's contents \
                 (bytes {HEADER_LEN} to {body_len})"
            ))),
        }
    };

    let manifest_range = range("the manifest", le_u64(bytes, 24), le_u64(bytes, 32))?;
    used.push((manifest_range.clone(), "the manifest".into()));
    let manifest = std::str::from_utf8(&bytes[to_usize(&manifest_range)])
        .map_err(|e| malformed(format!("the manifest is not valid UTF-8 ({e})")))?
        .to_string();

    let table_off = le_u64(bytes, 40);
    let count = le_u32(bytes, 48);
    if table_off & 7 != 0 {
        return Err(malformed(format!(
            "the section table offset {table_off} is not a multiple of 8"
        )));
    }
    let table_range = range(
        &format!("the section table of {count} entries"),
        table_off,
        u64::from(count) * SECTION_ENTRY_LEN as u64,
    )?;
    used.push((table_range.clone(), "the section table".into()));

    // The table fits in the file, so `count` is bounded by the file's size.
    let mut sections = Vec::with_capacity(count as usize);
    let mut names = HashSet::new();
    for i in 0..count as usize {
        let e = table_range.start as usize + i * SECTION_ENTRY_LEN;
        let (off, size) = (le_u64(bytes, e), le_u64(bytes, e + 8));
        let (name_off, name_len) = (le_u64(bytes, e + 16), le_u32(bytes, e + 24));
        let (tag, align) = (le_u32(bytes, e + 28), le_u32(bytes, e + 32));
        if le_u32(bytes, e + 36) != 0 {
            return Err(malformed(format!("section {i}: the reserved field is not zero")));
        }
        if name_len == 0 || name_len as usize > MAX_SECTION_NAME_LEN {
            return Err(malformed(format!(
                "section {i}: the name length {name_len} is not between 1 and {MAX_SECTION_NAME_LEN}"
            )));
        }
        let name_range = range(&format!("the name of section {i}"), name_off, u64::from(name_len))?;
        let name = std::str::from_utf8(&bytes[to_usize(&name_range)])
            .map_err(|_| malformed(format!("section {i}: the name is not valid UTF-8")))?
            .to_string();
        let kind = SectionKind::from_tag(tag)
            .ok_or_else(|| malformed(format!("section `{name}`: unknown section kind {tag}")))?;
        let align = align as usize;
        if !align.is_power_of_two() || !(SECTION_ALIGN..=MAX_SECTION_ALIGN).contains(&align) {
            return Err(malformed(format!(
                "section `{name}`: the alignment {align} is not a power of two from \
                 {SECTION_ALIGN} to {MAX_SECTION_ALIGN}"
            )));
        }
        if off % align as u64 != 0 {
            return Err(malformed(format!(
                "section `{name}`: the offset {off} is not a multiple of its alignment {align}"
            )));
        }
        let payload = range(&format!("section `{name}`"), off, size)?;
        if !names.insert(name.clone()) {
            return Err(malformed(format!("two sections are named `{name}`")));
        }
        used.push((name_range, format!("the name of section `{name}`")));
        used.push((payload.clone(), format!("section `{name}`")));
        let payload = to_usize(&payload);
        sections.push(SectionInfo {
            name,
            kind,
            offset: payload.start,
            len: payload.len(),
            align,
        });
    }

    used.retain(|(r, _)| !r.is_empty());
    used.sort_by_key(|(r, _)| (r.start, r.end));
    for pair in used.windows(2) {
        let ((a, a_what), (b, b_what)) = (&pair[0], &pair[1]);
        if b.start < a.end {
            return Err(malformed(format!(
                "{b_what} (bytes {}..{}) overlaps {a_what} (bytes {}..{})",
                b.start, b.end, a.start, a.end
            )));
        }
    }
    Ok((manifest, sections, expected))
}

/// A range already checked to lie inside a buffer, as `usize`.
fn to_usize(r: &Range<u64>) -> Range<usize> {
    r.start as usize..r.end as usize
}
