use std::sync::Arc;

use lightos_ir::{DType, Tensor};
use xxhash_rust::xxh3::xxh3_64;

use super::*;

const MANIFEST: &str = r#"{"model":"mlp","inputs":["x"]}"#;

/// Sections as given to the writer: name, kind, payload.
type Sections = Vec<(&'static str, SectionKind, Vec<u8>)>;

/// Four sections of awkward sizes, the weights holding f32 values, and the file's bytes.
fn sample() -> (Sections, Vec<u8>) {
    let weights: Vec<u8> = (0..100u32).flat_map(|i| (i as f32 * 0.5).to_le_bytes()).collect();
    let sections = vec![
        ("weights", SectionKind::Weights, weights),
        ("program", SectionKind::Program, b"%0 = add %x, %x".to_vec()),
        ("empty", SectionKind::Code, Vec::new()),
        ("code.cpu", SectionKind::Code, (0..=255u8).cycle().take(1001).collect()),
    ];
    let mut w = ArtifactWriter::new(MANIFEST.as_bytes().to_vec());
    for (i, (name, kind, bytes)) in sections.iter().enumerate() {
        assert_eq!(w.add_section(name, *kind, &bytes[..]), i as u32);
    }
    let bytes = w.to_bytes().unwrap();
    (sections, bytes)
}

fn check_sample(a: &Artifact, sections: &[(&str, SectionKind, Vec<u8>)]) {
    assert_eq!(a.manifest(), MANIFEST);
    assert_eq!(a.sections().len(), sections.len());
    for (i, (info, (name, kind, bytes))) in a.sections().iter().zip(sections).enumerate() {
        assert_eq!(info.name, *name);
        assert_eq!(info.kind, *kind);
        assert_eq!(info.len, bytes.len());
        assert_eq!(info.align, 64);
        assert_eq!(info.offset % 64, 0, "section {name} offset");
        assert_eq!(a.section(name).unwrap(), &bytes[..]);
        assert_eq!(a.section_at(i).unwrap(), &bytes[..]);
        assert_eq!(a.section_offset(name), Some(info.offset));
        let addr = a.section(name).unwrap().as_ptr() as usize;
        assert_eq!(addr % 64, 0, "section {name} address");
    }
    assert_eq!(a.section("missing"), None);
    assert_eq!(a.section_at(sections.len()), None);
}

#[test]
fn round_trip_in_memory() {
    let (sections, bytes) = sample();
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(&bytes[bytes.len() - 8..], &END_MAGIC);
    let a = Artifact::from_bytes(bytes.clone()).unwrap();
    check_sample(&a, &sections);
    assert!(a.mmap().is_none());
    assert_eq!(a.as_bytes(), &bytes[..]);
    assert_eq!(a.checksum(), xxh3_64(&bytes[..bytes.len() - FOOTER_LEN]));
}

#[test]
fn round_trip_through_a_file_and_mmap() {
    let (sections, bytes) = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.lart");
    let mut w = ArtifactWriter::new(MANIFEST.as_bytes().to_vec());
    for (name, kind, b) in &sections {
        w.add_section(name, *kind, b.clone());
    }
    w.write_to(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "write_to and to_bytes agree");
    // Only the output file is left in the folder.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);

    let a = Artifact::open(&path).unwrap();
    check_sample(&a, &sections);
    assert_eq!(a.path(), Some(path.as_path()));
    let map = a.mmap().expect("opened files are mapped");
    assert_eq!(map.as_ptr() as usize % 64, 0);

    // Weights can be viewed in place, and the view outlives the artifact.
    let off = a.section_offset("weights").unwrap();
    drop(a);
    let t = Tensor::from_mmap(DType::F32, vec![10, 10], Arc::clone(&map), off).unwrap();
    assert!(t.is_mapped());
    assert_eq!(t.as_slice::<f32>().unwrap()[..3], [0.0, 0.5, 1.0]);
}

#[test]
fn overwrite_replaces_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.lart");
    std::fs::write(&path, b"old contents").unwrap();
    let mut w = ArtifactWriter::new(b"{}".to_vec());
    w.add_section("p", SectionKind::Program, vec![1, 2, 3]);
    w.write_to(&path).unwrap();
    let a = Artifact::open(&path).unwrap();
    assert_eq!(a.section("p"), Some(&[1u8, 2, 3][..]));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn failed_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a non-empty folder, so the final rename fails.
    let target = dir.path().join("out.lart");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    let w = ArtifactWriter::new(b"{}".to_vec());
    let err = w.write_to(&target).unwrap_err();
    assert!(matches!(err, ArtifactError::Io { .. }), "{err}");
    assert!(err.to_string().contains("out.lart"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temporary file removed"
    );

    // A missing folder is reported, and nothing is created.
    let err = w.write_to(&dir.path().join("no/such/dir/m.lart")).unwrap_err();
    assert!(matches!(err, ArtifactError::Io { .. }), "{err}");
}

#[test]
fn no_sections_and_empty_manifest() {
    let bytes = ArtifactWriter::new(Vec::new()).to_bytes().unwrap();
    assert_eq!(bytes.len(), MIN_FILE_LEN);
    let a = Artifact::from_bytes(bytes).unwrap();
    assert_eq!(a.manifest(), "");
    assert!(a.sections().is_empty());
}

#[test]
fn writer_refuses_bad_input() {
    let mut w = ArtifactWriter::new(b"{}".to_vec());
    w.add_section("a", SectionKind::Weights, vec![1]);
    w.add_section("a", SectionKind::Code, vec![2]);
    let err = w.to_bytes().unwrap_err();
    assert!(err.to_string().contains("two sections are named `a`"), "{err}");

    let mut w = ArtifactWriter::new(b"{}".to_vec());
    w.add_section("", SectionKind::Weights, vec![1]);
    assert!(matches!(w.to_bytes(), Err(ArtifactError::InvalidInput(_))));

    let mut w = ArtifactWriter::new(b"{}".to_vec());
    w.add_section(&"n".repeat(MAX_SECTION_NAME_LEN + 1), SectionKind::Weights, vec![1]);
    assert!(matches!(w.to_bytes(), Err(ArtifactError::InvalidInput(_))));

    let w = ArtifactWriter::new(vec![0xff, 0xfe]);
    assert!(w.to_bytes().unwrap_err().to_string().contains("UTF-8"));
}

#[test]
fn truncated_files_are_refused() {
    let (_, bytes) = sample();
    let mut cuts: Vec<usize> = vec![0, 1, 7, 8, 11, 12, 23, 24, 63, 64, 79, 80, 81];
    cuts.extend((100..bytes.len()).step_by(53));
    cuts.extend([bytes.len() - 16, bytes.len() - 8, bytes.len() - 1]);
    for cut in cuts {
        let err = Artifact::from_bytes(bytes[..cut].to_vec()).unwrap_err();
        match err {
            ArtifactError::Truncated {
                expected_at_least,
                actual,
                ..
            } => {
                assert_eq!(actual, cut as u64);
                assert!(expected_at_least > actual, "cut {cut}: {expected_at_least}");
            }
            other => panic!("cut at {cut}: {other}"),
        }
    }
}

#[test]
fn any_flipped_byte_is_refused() {
    let (_, bytes) = sample();
    let mut positions: Vec<usize> = (0..bytes.len()).step_by(97).collect();
    positions.extend(0..HEADER_LEN); // every header byte
    positions.extend(bytes.len() - FOOTER_LEN..bytes.len()); // every footer byte
    for pos in positions {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= flip;
            let err = Artifact::from_bytes(b).expect_err(&format!("byte {pos} ^ {flip:#x} accepted"));
            // Errors are specific: the checksum or an earlier, more precise check.
            assert!(
                matches!(
                    err,
                    ArtifactError::Corrupted { .. }
                        | ArtifactError::NotAnArtifact { .. }
                        | ArtifactError::UnsupportedVersion { .. }
                        | ArtifactError::Truncated { .. }
                        | ArtifactError::Malformed { .. }
                        | ArtifactError::MissingEndMarker { .. }
                ),
                "{err}"
            );
            if (HEADER_LEN..bytes.len() - FOOTER_LEN).contains(&pos) {
                assert!(matches!(err, ArtifactError::Corrupted { .. }), "byte {pos}: {err}");
            }
        }
    }
}

#[test]
fn foreign_files_are_not_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa".to_vec();
    let mut long_text = b"This is a README, not a model.\n".repeat(10);
    long_text.extend_from_slice(b"end\n");
    let npy = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', ".to_vec();
    for (name, contents) in [
        ("image.png", png),
        ("notes.txt", b"hello\n".to_vec()),
        ("readme.lart", long_text),
        ("x.npy", npy),
        ("one.lart", b"X".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &contents).unwrap();
        let err = Artifact::open(&path).unwrap_err();
        assert!(matches!(err, ArtifactError::NotAnArtifact { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(name) && msg.contains("is not a LightOS artifact (bad magic)"),
            "{msg}"
        );
        assert!(matches!(
            Artifact::from_bytes(contents),
            Err(ArtifactError::NotAnArtifact { .. })
        ));
    }
}

#[test]
fn empty_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.lart");
    std::fs::write(&path, b"").unwrap();
    let err = Artifact::open(&path).unwrap_err();
    assert!(
        matches!(err, ArtifactError::Truncated { actual: 0, expected_at_least, .. } if expected_at_least == MIN_FILE_LEN as u64),
        "{err}"
    );
    assert!(err.to_string().contains("empty.lart is truncated"), "{err}");
    assert!(matches!(
        Artifact::from_bytes(Vec::new()),
        Err(ArtifactError::Truncated { actual: 0, .. })
    ));

    let err = Artifact::open(dir.path().join("missing.lart")).unwrap_err();
    assert!(matches!(err, ArtifactError::Io { action: "open", .. }), "{err}");
    assert!(err.to_string().starts_with("cannot open"), "{err}");
    assert!(err.to_string().contains("missing.lart"), "{err}");

    let err = Artifact::open(dir.path()).unwrap_err();
    assert!(matches!(err, ArtifactError::Io { .. }), "{err}");
}

/// Rewrites the footer checksum so that a deliberately crafted file passes the checksum.
fn reseal(b: &mut [u8]) {
    let body = b.len() - FOOTER_LEN;
    let sum = xxh3_64(&b[..body]);
    b[body..body + 8].copy_from_slice(&sum.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The position of section `i`'s table entry.
fn entry(b: &[u8], i: usize) -> usize {
    u64::from_le_bytes(b[40..48].try_into().unwrap()) as usize + i * SECTION_ENTRY_LEN
}

#[test]
fn unsupported_version() {
    let (_, mut bytes) = sample();
    put_u32(&mut bytes, 8, 2);
    reseal(&mut bytes);
    let err = Artifact::from_bytes(bytes.clone()).unwrap_err();
    assert!(
        matches!(err, ArtifactError::UnsupportedVersion { version: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("version 2"), "{err}");
    // Even a cut file of another version is reported by version.
    assert!(matches!(
        Artifact::from_bytes(bytes[..12].to_vec()),
        Err(ArtifactError::UnsupportedVersion { version: 2, .. })
    ));
}

/// Applies `edit` to a valid file, reseals it and expects `Malformed` mentioning `needle`.
fn expect_malformed(edit: impl FnOnce(&mut Vec<u8>), needle: &str) {
    let (_, mut bytes) = sample();
    edit(&mut bytes);
    reseal(&mut bytes);
    match Artifact::from_bytes(bytes) {
        Err(ArtifactError::Malformed { detail, .. }) => {
            assert!(detail.contains(needle), "`{detail}` lacks `{needle}`")
        }
        other => panic!("expected Malformed ({needle}), got {other:?}"),
    }
}

#[test]
fn crafted_files_with_valid_checksums_are_checked() {
    // A section past the end of the file.
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u64(b, e, 1 << 40)
        },
        "section `weights`",
    );
    // Offset + length overflows u64.
    expect_malformed(
        |b| {
            let e = entry(b, 1);
            put_u64(b, e, !63u64);
            put_u64(b, e + 8, 1 << 20);
        },
        "outside",
    );
    // A section that runs into the footer.
    expect_malformed(
        |b| {
            let e = entry(b, 3);
            let len = u64::from_le_bytes(b[e + 8..e + 16].try_into().unwrap());
            put_u64(b, e + 8, len + 1);
        },
        "outside",
    );
    // A section overlapping the header.
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u64(b, e, 0)
        },
        "outside",
    );
    // Two sections overlapping each other.
    expect_malformed(
        |b| {
            let first = u64::from_le_bytes(b[entry(b, 0)..entry(b, 0) + 8].try_into().unwrap());
            let e = entry(b, 1);
            put_u64(b, e, first);
        },
        "overlaps",
    );
    // Misaligned payload, bad alignment, unknown kind, bad name length.
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u64(b, e, 64 * 3 + 8)
        },
        "alignment",
    );
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u32(b, e + 32, 48)
        },
        "alignment",
    );
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u32(b, e + 32, 1 << 31)
        },
        "alignment",
    );
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u32(b, e + 28, 99)
        },
        "unknown section kind 99",
    );
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u32(b, e + 24, 0)
        },
        "name length",
    );
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u32(b, e + 24, u32::MAX)
        },
        "name length",
    );
    expect_malformed(
        |b| {
            let e = entry(b, 0);
            put_u64(b, e + 16, u64::MAX)
        },
        "name of section 0",
    );
    // Duplicate names: point section 1's name at section 0's.
    expect_malformed(
        |b| {
            let (e0, e1) = (entry(b, 0), entry(b, 1));
            let name0 = b[e0 + 16..e0 + 28].to_vec();
            b[e1 + 16..e1 + 28].copy_from_slice(&name0);
        },
        "two sections are named `weights`",
    );
    // Header fields.
    expect_malformed(|b| put_u32(b, 48, u32::MAX), "section table");
    expect_malformed(|b| put_u64(b, 40, 44), "multiple of 8");
    expect_malformed(|b| put_u64(b, 24, 10), "the manifest");
    expect_malformed(|b| put_u64(b, 32, u64::MAX), "the manifest");
    expect_malformed(|b| put_u32(b, 12, 1), "flags");
    expect_malformed(|b| put_u64(b, 56, 1), "reserved");
    expect_malformed(
        |b| {
            let e = entry(b, 2);
            put_u32(b, e + 36, 1)
        },
        "reserved",
    );
    expect_malformed(|b| b[HEADER_LEN] = 0xff, "UTF-8");
    // Extra bytes before the footer; the header still records the old length.
    expect_malformed(
        |b| {
            let footer = b.split_off(b.len() - FOOTER_LEN);
            b.extend_from_slice(&[0; 8]);
            b.extend_from_slice(&footer);
        },
        "extra data",
    );
}

#[test]
fn lying_length_field() {
    // The header claims more bytes than there are: truncated, whatever the checksum says.
    let (_, mut bytes) = sample();
    let n = bytes.len() as u64;
    put_u64(&mut bytes, 16, n + 64);
    reseal(&mut bytes);
    assert!(matches!(
        Artifact::from_bytes(bytes),
        Err(ArtifactError::Truncated { expected_at_least, .. }) if expected_at_least == n + 64
    ));
}

#[test]
fn garbage_never_panics() {
    // Random bytes behind a valid magic and version, with and without a valid seal.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let len = (next() % 400) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if len >= 24 {
            b[..8].copy_from_slice(&MAGIC);
            put_u32(&mut b, 8, FORMAT_VERSION);
            put_u64(&mut b, 16, len as u64);
        }
        if len >= MIN_FILE_LEN {
            b[len - 8..].copy_from_slice(&END_MAGIC);
            if round % 2 == 0 {
                // Plausible small header values, so the structural checks get exercised.
                put_u32(&mut b, 12, 0);
                put_u32(&mut b, 52, 0);
                put_u64(&mut b, 56, 0);
                put_u64(&mut b, 24, 64 + next() % 16);
                put_u64(&mut b, 32, next() % 16);
                put_u64(&mut b, 40, (next() % 64) * 8);
                put_u32(&mut b, 48, (next() % 4) as u32);
            }
            reseal(&mut b);
        }
        let _ = Artifact::from_bytes(b);
    }
}
