//! External tensor data: tensors whose bytes live in a file beside the model.
//!
//! A tensor with `data_location = EXTERNAL` names a file with its `external_data` entries:
//! `location` (a path relative to the model's folder), and optionally `offset` and `length`
//! (decimal byte counts; `length` defaults to the rest of the file). `checksum` and other
//! keys are ignored.
//!
//! A model is untrusted input, so the location is resolved only inside the model's
//! folder. Refused, each with its own [`OnnxError`] variant naming the tensor and the
//! location:
//!
//! - absolute paths, and paths with a root or a drive prefix;
//! - any `..` component;
//! - paths whose canonical form (symbolic links followed) leaves the model's canonical
//!   folder;
//! - files that do not exist, and anything that is not a regular file (folders, pipes,
//!   devices);
//! - `offset` and `length` that reach past the end of the file (checked arithmetic).
//!
//! The check is done when the tensor is read; a file swapped for a link between the check
//! and the read is not guarded against (the folder is assumed not to be written to
//! concurrently by an adversary).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use super::error::{tensor_label, OnnxError};
use super::proto::TensorProto;

/// Where, in which file, a tensor's external data is: resolved and range-checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalSlice {
    /// The `location` the model gave.
    pub location: String,
    /// The file, canonicalized; always inside the model's canonical folder.
    pub path: PathBuf,
    /// Byte offset of the data in the file.
    pub offset: u64,
    /// Byte length of the data; `offset + length` is within the file.
    pub length: u64,
}

/// The `external_data` entries of a tensor, parsed but not yet resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalInfo {
    /// The `location` entry.
    pub location: String,
    /// The `offset` entry; 0 when absent.
    pub offset: u64,
    /// The `length` entry, if given.
    pub length: Option<u64>,
}

/// Parses the `external_data` entries of `proto`. Later entries with the same key win.
pub fn external_info(proto: &TensorProto) -> Result<ExternalInfo, OnnxError> {
    let tensor = tensor_label(&proto.name);
    let mut location = None;
    let mut offset = None;
    let mut length = None;
    for entry in &proto.external_data {
        match entry.key.as_str() {
            "location" => location = Some(entry.value.as_str()),
            "offset" => offset = Some(entry.value.as_str()),
            "length" => length = Some(entry.value.as_str()),
            _ => {}
        }
    }
    let location = match location {
        Some(l) if !l.is_empty() => l.to_string(),
        _ => return Err(OnnxError::ExternalMissingLocation { tensor }),
    };
    let parse = |key: &str, value: &str| {
        value.parse::<u64>().map_err(|_| OnnxError::ExternalBadField {
            tensor: tensor.clone(),
            location: location.clone(),
            key: key.to_string(),
            value: value.to_string(),
        })
    };
    let offset = offset.map(|v| parse("offset", v)).transpose()?.unwrap_or(0);
    let length = length.map(|v| parse("length", v)).transpose()?;
    Ok(ExternalInfo {
        location,
        offset,
        length,
    })
}

/// Checks a `location` for syntax alone: relative, no root, no drive, no `..`.
fn check_location_syntax(tensor: &str, location: &str) -> Result<(), OnnxError> {
    let path = Path::new(location);
    let rooted = path.is_absolute()
        || path.has_root()
        || path
            .components()
            .any(|c| matches!(c, Component::Prefix(_) | Component::RootDir));
    if rooted {
        return Err(OnnxError::ExternalAbsolutePath {
            tensor: tensor.to_string(),
            location: location.to_string(),
        });
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(OnnxError::ExternalParentDir {
            tensor: tensor.to_string(),
            location: location.to_string(),
        });
    }
    Ok(())
}

/// Resolves `location` to a canonical regular file inside `model_dir`.
///
/// `tensor` is the tensor's name, for errors.
pub fn resolve_location(tensor: &str, location: &str, model_dir: Option<&Path>) -> Result<PathBuf, OnnxError> {
    let tensor = tensor_label(tensor);
    if location.is_empty() {
        return Err(OnnxError::ExternalMissingLocation { tensor });
    }
    check_location_syntax(&tensor, location)?;
    let io_err = |source: std::io::Error| OnnxError::ExternalIo {
        tensor: tensor.clone(),
        location: location.to_string(),
        source,
    };
    let Some(model_dir) = model_dir else {
        return Err(OnnxError::ExternalNoModelDir {
            tensor,
            location: location.to_string(),
        });
    };
    let canon_dir = std::fs::canonicalize(model_dir).map_err(io_err)?;
    let canon = match std::fs::canonicalize(canon_dir.join(location)) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OnnxError::ExternalMissingFile {
                tensor,
                location: location.to_string(),
                model_dir: canon_dir,
            })
        }
        Err(e) => return Err(io_err(e)),
    };
    if !canon.starts_with(&canon_dir) {
        return Err(OnnxError::ExternalOutsideFolder {
            tensor,
            location: location.to_string(),
            resolved: canon,
            model_dir: canon_dir,
        });
    }
    let meta = std::fs::metadata(&canon).map_err(io_err)?;
    if !meta.is_file() {
        return Err(OnnxError::ExternalNotAFile {
            tensor,
            location: location.to_string(),
        });
    }
    Ok(canon)
}

/// Resolves the external data of `proto` against the model's folder and checks its byte
/// range against the file's size.
pub fn resolve_external(proto: &TensorProto, model_dir: Option<&Path>) -> Result<ExternalSlice, OnnxError> {
    let tensor = tensor_label(&proto.name);
    let info = external_info(proto)?;
    let path = resolve_location(&tensor, &info.location, model_dir)?;
    let file_size = std::fs::metadata(&path)
        .map_err(|source| OnnxError::ExternalIo {
            tensor: tensor.clone(),
            location: info.location.clone(),
            source,
        })?
        .len();
    let out_of_range = || OnnxError::ExternalRange {
        tensor: tensor.clone(),
        location: info.location.clone(),
        offset: info.offset,
        length: info.length,
        file_size,
    };
    let rest = file_size.checked_sub(info.offset).ok_or_else(out_of_range)?;
    let length = match info.length {
        Some(len) if len > rest => return Err(out_of_range()),
        Some(len) => len,
        None => rest,
    };
    Ok(ExternalSlice {
        location: info.location,
        path,
        offset: info.offset,
        length,
    })
}

/// Reads exactly the bytes of `slice`. `tensor` is the tensor's name, for errors.
pub fn read_slice(tensor: &str, slice: &ExternalSlice) -> Result<Vec<u8>, OnnxError> {
    let io_err = |source: std::io::Error| OnnxError::ExternalIo {
        tensor: tensor_label(tensor),
        location: slice.location.clone(),
        source,
    };
    let len = usize::try_from(slice.length).map_err(|_| {
        io_err(std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            "external data is larger than the address space",
        ))
    })?;
    let mut file = File::open(&slice.path).map_err(io_err)?;
    file.seek(SeekFrom::Start(slice.offset)).map_err(io_err)?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| {
        io_err(std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("cannot allocate {len} bytes for external data"),
        ))
    })?;
    buf.resize(len, 0);
    file.read_exact(&mut buf).map_err(io_err)?;
    Ok(buf)
}

/// Reads all the external data of `proto`, resolved against `model_dir`.
pub fn read_external(proto: &TensorProto, model_dir: Option<&Path>) -> Result<Vec<u8>, OnnxError> {
    let slice = resolve_external(proto, model_dir)?;
    read_slice(&proto.name, &slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::{tensor_proto::DataLocation, StringStringEntryProto};

    fn ext_proto(entries: &[(&str, &str)]) -> TensorProto {
        TensorProto {
            name: "w".into(),
            data_type: 1,
            data_location: DataLocation::External as i32,
            external_data: entries
                .iter()
                .map(|(k, v)| StringStringEntryProto {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn folder_with_file(name: &str, bytes: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
        dir
    }

    #[test]
    fn reads_whole_file_and_ranges() {
        let dir = folder_with_file("w.bin", &[0, 1, 2, 3, 4, 5, 6, 7]);
        let all = read_external(&ext_proto(&[("location", "w.bin")]), Some(dir.path())).unwrap();
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        let part = ext_proto(&[("location", "w.bin"), ("offset", "2"), ("length", "4")]);
        assert_eq!(read_external(&part, Some(dir.path())).unwrap(), vec![2, 3, 4, 5]);
        let tail = ext_proto(&[("location", "./w.bin"), ("offset", "6")]);
        assert_eq!(read_external(&tail, Some(dir.path())).unwrap(), vec![6, 7]);
        let to_end = ext_proto(&[("location", "w.bin"), ("offset", "8"), ("length", "0")]);
        assert_eq!(read_external(&to_end, Some(dir.path())).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn subfolders_are_allowed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/w.bin"), [9u8; 4]).unwrap();
        let p = ext_proto(&[("location", "data/w.bin")]);
        assert_eq!(read_external(&p, Some(dir.path())).unwrap(), vec![9; 4]);
    }

    #[test]
    fn parent_dir_is_refused() {
        let outer = tempfile::tempdir().unwrap();
        let model_dir = outer.path().join("model");
        std::fs::create_dir(&model_dir).unwrap();
        std::fs::write(outer.path().join("secret.bin"), [1u8; 4]).unwrap();
        for loc in ["../secret.bin", "sub/../../secret.bin", "a/.."] {
            let err = read_external(&ext_proto(&[("location", loc)]), Some(&model_dir)).unwrap_err();
            assert!(
                matches!(&err, OnnxError::ExternalParentDir { tensor, location } if tensor == "w" && location == loc),
                "{loc}: {err}"
            );
        }
    }

    #[test]
    fn absolute_path_is_refused() {
        let dir = folder_with_file("w.bin", &[0; 4]);
        let abs = dir.path().join("w.bin");
        let loc = abs.to_str().unwrap();
        let err = read_external(&ext_proto(&[("location", loc)]), Some(dir.path())).unwrap_err();
        assert!(
            matches!(&err, OnnxError::ExternalAbsolutePath { location, .. } if location == loc),
            "{err}"
        );
        let err = read_external(&ext_proto(&[("location", "/etc/passwd")]), Some(dir.path())).unwrap_err();
        assert!(matches!(err, OnnxError::ExternalAbsolutePath { .. }), "{err}");
        assert!(err.to_string().contains("/etc/passwd"));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_leaving_folder_is_refused() {
        let outer = tempfile::tempdir().unwrap();
        let model_dir = outer.path().join("model");
        std::fs::create_dir(&model_dir).unwrap();
        std::fs::write(outer.path().join("secret.bin"), [1u8; 4]).unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret.bin"), model_dir.join("w.bin")).unwrap();
        std::os::unix::fs::symlink(outer.path(), model_dir.join("up")).unwrap();
        for loc in ["w.bin", "up/secret.bin"] {
            let err = read_external(&ext_proto(&[("location", loc)]), Some(&model_dir)).unwrap_err();
            assert!(
                matches!(&err, OnnxError::ExternalOutsideFolder { tensor, location, .. } if tensor == "w" && location == loc),
                "{loc}: {err}"
            );
        }
        // A link that stays inside the folder is fine.
        std::fs::write(model_dir.join("real.bin"), [5u8; 2]).unwrap();
        std::os::unix::fs::symlink(model_dir.join("real.bin"), model_dir.join("alias.bin")).unwrap();
        let p = ext_proto(&[("location", "alias.bin")]);
        assert_eq!(read_external(&p, Some(&model_dir)).unwrap(), vec![5, 5]);
    }

    #[test]
    fn missing_file_and_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let err = read_external(&ext_proto(&[("location", "nope.bin")]), Some(dir.path())).unwrap_err();
        assert!(
            matches!(&err, OnnxError::ExternalMissingFile { location, .. } if location == "nope.bin"),
            "{err}"
        );
        let err = read_external(&ext_proto(&[("location", "sub")]), Some(dir.path())).unwrap_err();
        assert!(matches!(err, OnnxError::ExternalNotAFile { .. }), "{err}");
        let err = read_external(&ext_proto(&[("location", "w.bin")]), None).unwrap_err();
        assert!(matches!(err, OnnxError::ExternalNoModelDir { .. }), "{err}");
        let err = read_external(&ext_proto(&[("offset", "0")]), Some(dir.path())).unwrap_err();
        assert!(matches!(err, OnnxError::ExternalMissingLocation { .. }), "{err}");
    }

    #[test]
    fn ranges_beyond_the_file_are_refused() {
        let dir = folder_with_file("w.bin", &[0; 8]);
        let cases: &[&[(&str, &str)]] = &[
            &[("offset", "9")],
            &[("offset", "4"), ("length", "5")],
            &[("length", "9")],
            &[("offset", "18446744073709551615"), ("length", "18446744073709551615")],
            &[("offset", "1"), ("length", "18446744073709551615")],
        ];
        for case in cases {
            let mut entries = vec![("location", "w.bin")];
            entries.extend_from_slice(case);
            let err = read_external(&ext_proto(&entries), Some(dir.path())).unwrap_err();
            assert!(
                matches!(&err, OnnxError::ExternalRange { file_size: 8, location, .. } if location == "w.bin"),
                "{case:?}: {err}"
            );
        }
    }

    #[test]
    fn bad_numbers_are_refused() {
        let dir = folder_with_file("w.bin", &[0; 8]);
        for (k, v) in [("offset", "-1"), ("length", "ten"), ("offset", "")] {
            let err = read_external(&ext_proto(&[("location", "w.bin"), (k, v)]), Some(dir.path())).unwrap_err();
            assert!(
                matches!(&err, OnnxError::ExternalBadField { key, value, .. } if key == k && value == v),
                "{err}"
            );
        }
    }
}
