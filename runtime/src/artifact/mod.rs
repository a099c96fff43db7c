//! The `.lart` artifact file: one self-checking file that holds a compiled model.
//!
//! This module is a generic container. It stores a manifest (UTF-8 JSON bytes given by the
//! caller) and any number of named, typed, aligned sections (weights, program text, code for
//! a target). It knows nothing about the IR; the compiler decides what goes in the manifest
//! and the sections.
//!
//! A file is written with [`ArtifactWriter`] and read back with [`Artifact`]. Reading memory
//! maps the file and checks it completely before handing anything out: a foreign, truncated,
//! corrupted or malformed file is refused with an [`ArtifactError`] that says what is wrong,
//! and no input, however damaged, makes the reader panic.
//!
//! # Layout, format version 1
//!
//! All integers are little-endian. Offsets are absolute byte offsets from the start of the
//! file.
//!
//! ```text
//! +-------------------------+  0
//! | header (64 bytes)       |
//! +-------------------------+  64
//! | manifest (UTF-8 JSON)   |
//! +-------------------------+  zero padding to a multiple of 8
//! | section table           |  section count x 40 bytes
//! | section names           |  the names' UTF-8 bytes, back to back
//! +-------------------------+  zero padding to the first section's alignment
//! | section 0 payload       |
//! +-------------------------+  zero padding to the next section's alignment
//! | section 1 payload ...   |
//! +-------------------------+  file length - 16
//! | footer (16 bytes)       |
//! +-------------------------+  file length
//! ```
//!
//! Header (64 bytes):
//!
//! | offset | size | field                                                        |
//! |-------:|-----:|--------------------------------------------------------------|
//! |      0 |    8 | magic, the bytes `LIGHTOS\0` ([`MAGIC`])                     |
//! |      8 |    4 | format version, `u32`, `1` ([`FORMAT_VERSION`])              |
//! |     12 |    4 | flags, `u32`, `0` (no flags are defined in version 1)        |
//! |     16 |    8 | file length in bytes, footer included, `u64`                 |
//! |     24 |    8 | manifest offset, `u64`                                       |
//! |     32 |    8 | manifest length, `u64`                                       |
//! |     40 |    8 | section table offset, `u64`, a multiple of 8                 |
//! |     48 |    4 | section count, `u32`                                         |
//! |     52 |    4 | reserved, `0`                                                |
//! |     56 |    8 | reserved, `0`                                                |
//!
//! Section table entry (40 bytes each, in section index order):
//!
//! | offset | size | field                                                        |
//! |-------:|-----:|--------------------------------------------------------------|
//! |      0 |    8 | payload offset, `u64`, a multiple of the alignment           |
//! |      8 |    8 | payload length, `u64`                                        |
//! |     16 |    8 | name offset, `u64`                                           |
//! |     24 |    4 | name length, `u32`, 1 to [`MAX_SECTION_NAME_LEN`] bytes      |
//! |     28 |    4 | kind tag, `u32`: 1 weights, 2 program, 3 code ([`SectionKind`]) |
//! |     32 |    4 | alignment, `u32`: a power of two from 64 to 65536            |
//! |     36 |    4 | reserved, `0`                                                |
//!
//! Section names are UTF-8 and unique within a file. The writer aligns every payload to
//! [`SECTION_ALIGN`] (64) bytes; since a memory map starts on a page boundary, the payloads
//! of a mapped file are 64-byte aligned in memory too, so weights can be viewed in place
//! (see [`Artifact::mmap`] and [`Artifact::section_offset`]).
//!
//! Footer (16 bytes, the last bytes of the file):
//!
//! | offset | size | field                                                        |
//! |-------:|-----:|--------------------------------------------------------------|
//! |      0 |    8 | xxh3-64 (seed 0) of every byte before the footer, `u64`      |
//! |      8 |    8 | end magic, the bytes `LARTEND\0` ([`END_MAGIC`])             |
//!
//! The header, manifest, section table, names and payloads must lie inside the file before
//! the footer and must not overlap one another. Padding bytes are written as zero; the
//! reader does not look at them, but the checksum covers them.
//!
//! # Reading order of checks
//!
//! The reader checks, in order: the magic ([`ArtifactError::NotAnArtifact`]), the version
//! ([`ArtifactError::UnsupportedVersion`], before anything a later version might lay out
//! differently), the length ([`ArtifactError::Truncated`]), the end magic
//! ([`ArtifactError::MissingEndMarker`]), the checksum ([`ArtifactError::Corrupted`]) and
//! then every field of the structure ([`ArtifactError::Malformed`]).
//!
//! # Memory maps
//!
//! [`Artifact::open`] maps the file read-only. As with any memory map, the file must not be
//! changed or truncated by another process while the artifact (or any tensor viewing it) is
//! alive; replace artifacts by writing a new file and renaming it over the old one, which is
//! what [`ArtifactWriter::write_to`] does.

mod reader;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use reader::Artifact;
pub use writer::ArtifactWriter;

/// The first 8 bytes of every artifact file.
pub const MAGIC: [u8; 8] = *b"LIGHTOS\0";

/// The last 8 bytes of every artifact file.
pub const END_MAGIC: [u8; 8] = *b"LARTEND\0";

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The size of the fixed header in bytes.
pub const HEADER_LEN: usize = 64;

/// The size of the footer (checksum and end magic) in bytes.
pub const FOOTER_LEN: usize = 16;

/// The size of one section table entry in bytes.
pub const SECTION_ENTRY_LEN: usize = 40;

/// The alignment, in bytes, of every section payload the writer produces.
pub const SECTION_ALIGN: usize = 64;

/// The largest section alignment the reader accepts.
pub const MAX_SECTION_ALIGN: usize = 65536;

/// The longest section name, in bytes.
pub const MAX_SECTION_NAME_LEN: usize = 1024;

/// The smallest possible artifact: a header and a footer.
pub const MIN_FILE_LEN: usize = HEADER_LEN + FOOTER_LEN;

/// What a section holds. Stored on the wire as a `u32` tag (see [`SectionKind::tag`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// Constant tensor data, usually viewed in place through the memory map.
    Weights,
    /// A program: the graph or schedule the runtime executes.
    Program,
    /// Compiled code or kernel source for one target.
    Code,
}

impl SectionKind {
    /// Every kind, in tag order.
    pub const ALL: [SectionKind; 3] = [SectionKind::Weights, SectionKind::Program, SectionKind::Code];

    /// The tag stored in the section table.
    pub fn tag(self) -> u32 {
        match self {
            SectionKind::Weights => 1,
            SectionKind::Program => 2,
            SectionKind::Code => 3,
        }
    }

    /// The kind stored as `tag`, or `None` for a tag format version 1 does not define.
    pub fn from_tag(tag: u32) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    /// A lowercase name for messages, e.g. `weights`.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Weights => "weights",
            SectionKind::Program => "program",
            SectionKind::Code => "code",
        }
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One section of an artifact, as recorded in its section table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    /// The section's unique name.
    pub name: String,
    /// What the section holds.
    pub kind: SectionKind,
    /// The payload's byte offset from the start of the file; a multiple of `align`.
    pub offset: usize,
    /// The payload's length in bytes.
    pub len: usize,
    /// The payload's alignment in bytes (64 for files this code writes).
    pub align: usize,
}

/// Errors writing or reading an artifact.
///
/// `file` fields name the file the error is about: its path as given, or `in-memory data`
/// for [`Artifact::from_bytes`].
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The operating system refused an operation on a file.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `open` or `write`.
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file does not start with the artifact magic: it is some other kind of file.
    #[error("{file} is not a LightOS artifact (bad magic)")]
    NotAnArtifact {
        /// The file concerned.
        file: String,
    },
    /// The file is shorter than its header says, or shorter than any artifact can be.
    #[error("{file} is truncated: it has {actual} bytes but should have at least {expected_at_least}")]
    Truncated {
        /// The file concerned.
        file: String,
        /// The length the file should have at least.
        expected_at_least: u64,
        /// The length it has.
        actual: u64,
    },
    /// The file is an artifact of a format version this build cannot read.
    #[error(
        "{file} is a LightOS artifact of format version {version}, but this build reads only \
         version {FORMAT_VERSION}; recompile the model with this version of LightOS"
    )]
    UnsupportedVersion {
        /// The file concerned.
        file: String,
        /// The version recorded in the file.
        version: u32,
    },
    /// The file does not end with the end magic: it was damaged or cut and padded.
    #[error("{file} is corrupted: the end marker is missing")]
    MissingEndMarker {
        /// The file concerned.
        file: String,
    },
    /// The checksum in the footer does not match the file's contents.
    #[error("{file} is corrupted: checksum mismatch (recorded {expected:#018x}, computed {actual:#018x})")]
    Corrupted {
        /// The file concerned.
        file: String,
        /// The checksum recorded in the footer.
        expected: u64,
        /// The checksum of the contents as read.
        actual: u64,
    },
    /// The checksum matches but a field of the header or section table is invalid.
    #[error("{file} is malformed: {detail}")]
    Malformed {
        /// The file concerned.
        file: String,
        /// Which field is wrong and how.
        detail: String,
    },
    /// The writer was given something it cannot store (e.g. two sections with one name).
    #[error("cannot build artifact: {0}")]
    InvalidInput(String),
}
