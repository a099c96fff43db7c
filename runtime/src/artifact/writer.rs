//! Writing `.lart` files.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::Xxh3;

use super::{
    ArtifactError, SectionKind, END_MAGIC, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_SECTION_NAME_LEN, SECTION_ALIGN,
    SECTION_ENTRY_LEN,
};

/// Builds an artifact: a manifest and named sections, written in one go.
///
/// Section payloads may be borrowed (`&[u8]`) or owned (`Vec<u8>`); borrowed payloads are not
/// copied until the file is written.
///
/// ```
/// # use lightos_runtime::artifact::{Artifact, ArtifactWriter, SectionKind};
/// let mut w = ArtifactWriter::new(br#"{"model":"mlp"}"#.to_vec());
/// w.add_section("weights", SectionKind::Weights, vec![0u8; 256]);
/// w.add_section("program", SectionKind::Program, &b"graph text"[..]);
/// let a = Artifact::from_bytes(w.to_bytes().unwrap()).unwrap();
/// assert_eq!(a.section("program"), Some(&b"graph text"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct ArtifactWriter<'a> {
    manifest: Vec<u8>,
    sections: Vec<PendingSection<'a>>,
}

#[derive(Debug, Clone)]
struct PendingSection<'a> {
    name: String,
    kind: SectionKind,
    bytes: Cow<'a, [u8]>,
}

/// Where everything goes in the file.
struct Layout {
    /// Header, manifest, padding, section table and names: everything before the first payload.
    head: Vec<u8>,
    /// Each payload's offset.
    offsets: Vec<u64>,
}

impl<'a> ArtifactWriter<'a> {
    /// A writer with the given manifest, which must be UTF-8 (normally JSON).
    pub fn new(manifest_json: Vec<u8>) -> ArtifactWriter<'a> {
        ArtifactWriter {
            manifest: manifest_json,
            sections: Vec::new(),
        }
    }

    /// Adds a section and returns its index. Names must be unique and 1 to
    /// [`MAX_SECTION_NAME_LEN`](super::MAX_SECTION_NAME_LEN) bytes long; this is checked when
    /// the artifact is written.
    pub fn add_section(&mut self, name: &str, kind: SectionKind, bytes: impl Into<Cow<'a, [u8]>>) -> u32 {
        let index = self.sections.len() as u32;
        self.sections.push(PendingSection {
            name: name.to_string(),
            kind,
            bytes: bytes.into(),
        });
        index
    }

    /// The number of sections added so far.
    pub fn section_count(&self) -> usize {
        self.sections.len()
    }

    /// The whole artifact file as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ArtifactError> {
        let layout = self.layout()?;
        let mut out = Vec::new();
        self.emit(&layout, &mut out)
            .map_err(|e| ArtifactError::InvalidInput(format!("cannot assemble artifact in memory: {e}")))?;
        Ok(out)
    }

    /// Writes the artifact to `path`.
    ///
    /// The file is first written to a new temporary file in the same folder, flushed to disk,
    /// then renamed over `path`: a failed write never leaves a partial file at `path`, and
    /// nothing is written outside `path`'s folder (the temporary file is removed on failure).
    pub fn write_to(&self, path: &Path) -> Result<(), ArtifactError> {
        let layout = self.layout()?;
        let io_err = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source: io::Error| ArtifactError::Io { action, path, source }
        };
        let file_name = path.file_name().ok_or_else(|| ArtifactError::Io {
            action: "write",
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"),
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tmp_path, file) = create_temp(&dir, file_name)?;
        let result = (|| {
            let mut w = BufWriter::new(file);
            self.emit(&layout, &mut w).map_err(io_err("write", &tmp_path))?;
            let file = w.into_inner().map_err(|e| io_err("write", &tmp_path)(e.into_error()))?;
            file.sync_all().map_err(io_err("write", &tmp_path))?;
            drop(file);
            fs::rename(&tmp_path, path).map_err(io_err("replace", path))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp_path);
            return result;
        }
        // Make the rename itself durable where the platform allows it; failure here does not
        // make the written file wrong, so it is ignored.
        #[cfg(unix)]
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Checks the inputs and computes every offset.
    fn layout(&self) -> Result<Layout, ArtifactError> {
        let invalid = |m: String| Err(ArtifactError::InvalidInput(m));
        if std::str::from_utf8(&self.manifest).is_err() {
            return invalid("the manifest is not valid UTF-8".into());
        }
        let count = match u32::try_from(self.sections.len()) {
            Ok(c) => c,
            Err(_) => return invalid(format!("too many sections ({})", self.sections.len())),
        };
        let mut seen = HashSet::new();
        for s in &self.sections {
            if s.name.is_empty() {
                return invalid("a section has an empty name".into());
            }
            if s.name.len() > MAX_SECTION_NAME_LEN {
                return invalid(format!(
                    "section name `{}...` is {} bytes long; the limit is {MAX_SECTION_NAME_LEN}",
                    s.name.chars().take(32).collect::<String>(),
                    s.name.len()
                ));
            }
            if !seen.insert(s.name.as_str()) {
                return invalid(format!("two sections are named `{}`", s.name));
            }
        }

        let overflow = || ArtifactError::InvalidInput("the artifact would be larger than 2^64 bytes".into());
        let manifest_off = HEADER_LEN as u64;
        let manifest_len = self.manifest.len() as u64;
        let table_off =
            align_up(manifest_off.checked_add(manifest_len).ok_or_else(overflow)?, 8).ok_or_else(overflow)?;
        let table_len = u64::from(count) * SECTION_ENTRY_LEN as u64;
        let names_off = table_off.checked_add(table_len).ok_or_else(overflow)?;
        let mut cursor = names_off;
        let mut name_offsets = Vec::with_capacity(self.sections.len());
        for s in &self.sections {
            name_offsets.push(cursor);
            cursor = cursor.checked_add(s.name.len() as u64).ok_or_else(overflow)?;
        }
        let names_end = cursor;
        let mut offsets = Vec::with_capacity(self.sections.len());
        for s in &self.sections {
            cursor = align_up(cursor, SECTION_ALIGN as u64).ok_or_else(overflow)?;
            offsets.push(cursor);
            cursor = cursor.checked_add(s.bytes.len() as u64).ok_or_else(overflow)?;
        }
        let file_len = cursor.checked_add(super::FOOTER_LEN as u64).ok_or_else(overflow)?;

        let head_len = usize::try_from(offsets.first().copied().unwrap_or(names_end)).map_err(|_| overflow())?;
        let mut head = Vec::with_capacity(head_len);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes()); // flags
        head.extend_from_slice(&file_len.to_le_bytes());
        head.extend_from_slice(&manifest_off.to_le_bytes());
        head.extend_from_slice(&manifest_len.to_le_bytes());
        head.extend_from_slice(&table_off.to_le_bytes());
        head.extend_from_slice(&count.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes()); // reserved
        head.extend_from_slice(&0u64.to_le_bytes()); // reserved
        debug_assert_eq!(head.len(), HEADER_LEN);
        head.extend_from_slice(&self.manifest);
        head.resize(table_off as usize, 0);
        for ((s, &off), &name_off) in self.sections.iter().zip(&offsets).zip(&name_offsets) {
            head.extend_from_slice(&off.to_le_bytes());
            head.extend_from_slice(&(s.bytes.len() as u64).to_le_bytes());
            head.extend_from_slice(&name_off.to_le_bytes());
            head.extend_from_slice(&(s.name.len() as u32).to_le_bytes());
            head.extend_from_slice(&s.kind.tag().to_le_bytes());
            head.extend_from_slice(&(SECTION_ALIGN as u32).to_le_bytes());
            head.extend_from_slice(&0u32.to_le_bytes()); // reserved
        }
        for s in &self.sections {
            head.extend_from_slice(s.name.as_bytes());
        }
        debug_assert_eq!(head.len() as u64, names_end);
        head.resize(head_len, 0);
        Ok(Layout { head, offsets })
    }

    /// Writes the file described by `layout` to `out`.
    fn emit<W: Write>(&self, layout: &Layout, out: &mut W) -> io::Result<()> {
        const ZEROS: [u8; SECTION_ALIGN] = [0; SECTION_ALIGN];
        let mut w = HashingWriter {
            inner: out,
            hasher: Xxh3::new(),
            written: 0,
        };
        w.write_all(&layout.head)?;
        for (s, &off) in self.sections.iter().zip(&layout.offsets) {
            let pad = (off - w.written) as usize;
            w.write_all(&ZEROS[..pad])?;
            w.write_all(&s.bytes)?;
        }
        let checksum = w.hasher.digest();
        let out = w.inner;
        out.write_all(&checksum.to_le_bytes())?;
        out.write_all(&END_MAGIC)?;
        out.flush()
    }
}

/// Passes bytes through while hashing and counting them.
struct HashingWriter<'w, W: Write> {
    inner: &'w mut W,
    hasher: Xxh3,
    written: u64,
}

impl<W: Write> HashingWriter<'_, W> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// `x` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
fn align_up(x: u64, align: u64) -> Option<u64> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

/// Creates a new, empty temporary file in `dir` for an artifact named `name`.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> Result<(PathBuf, File), ArtifactError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut last_err = None;
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp_path = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp_path) {
            Ok(f) => return Ok((tmp_path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some((tmp_path, e)),
            Err(source) => {
                return Err(ArtifactError::Io {
                    action: "create a temporary file in",
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
    let (path, source) = last_err.expect("the loop ran at least once");
    Err(ArtifactError::Io {
        action: "create",
        path,
        source,
    })
}
