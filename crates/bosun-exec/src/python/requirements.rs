//! Reading the caller's requirements into the lines an environment is keyed by.
//!
//! The key lines are `bosun_core::requirements::normalize` of the list or file. A file may
//! pull in others with `-r`/`--requirement` or `-c`/`--constraint`; pip reads those relative
//! to the including file, and so does this module, adding their normalized lines (tagged
//! with the include line) to the key so that editing an included file gives a new
//! environment. A file without includes is keyed exactly by its normalized lines.
//!
//! What is *not* followed: local paths, editable installs (`-e ./pkg`) and URLs are keyed by
//! their text, not their content; change a version or remove the environment to pick up an
//! edit there.

use std::fs;
use std::path::{Path, PathBuf};

use bosun_core::requirements::normalize;

use super::Requirements;
use super::error::EnvError;

/// How deep `-r` inside `-r` is followed; pip itself rejects cycles.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Requirements, read and ready to key and install.
#[derive(Debug, Clone)]
pub(super) struct Loaded {
    /// What the environment's key is computed from.
    pub(super) key_lines: Vec<String>,
    /// What to install.
    pub(super) source: Source,
}

/// What to hand the installer.
#[derive(Debug, Clone)]
pub(super) enum Source {
    /// Nothing: the install step is skipped.
    Empty,
    /// The user's own file, as an absolute path (its relative includes keep working).
    File(PathBuf),
    /// Lines to write into the environment's `requirements.txt`.
    Lines(Vec<String>),
}

impl Loaded {
    /// Reads `requirements`: a file is read in full, with its includes.
    pub(super) fn load(requirements: &Requirements) -> Result<Self, EnvError> {
        match requirements {
            Requirements::None => Ok(Self {
                key_lines: Vec::new(),
                source: Source::Empty,
            }),
            Requirements::Lines(lines) => {
                let top = normalize(lines.iter().map(String::as_str));
                let source = if top.is_empty() {
                    Source::Empty
                } else {
                    Source::Lines(lines.clone())
                };
                // The lines are installed from inside the environment, so only absolute
                // includes point anywhere the caller could mean.
                let key_lines = with_includes(top, None, 0)?;
                Ok(Self { key_lines, source })
            }
            Requirements::File(path) => {
                let path = std::path::absolute(path).map_err(|source| EnvError::Requirements {
                    path: path.clone(),
                    source,
                })?;
                let top = read_normalized(&path)?;
                let source = if top.is_empty() {
                    Source::Empty
                } else {
                    Source::File(path.clone())
                };
                let key_lines = with_includes(top, path.parent(), 0)?;
                Ok(Self { key_lines, source })
            }
        }
    }
}

fn read_normalized(path: &Path) -> Result<Vec<String>, EnvError> {
    let text = fs::read_to_string(path).map_err(|source| EnvError::Requirements {
        path: path.to_owned(),
        source,
    })?;
    Ok(normalize(text.lines()))
}

/// `lines` followed by the lines of every file they include, each tagged `<include> => `.
fn with_includes(
    lines: Vec<String>,
    base: Option<&Path>,
    depth: usize,
) -> Result<Vec<String>, EnvError> {
    let mut out = Vec::new();
    for line in &lines {
        let Some(target) = include_target(line) else {
            continue;
        };
        if depth >= MAX_INCLUDE_DEPTH || target.contains("://") {
            continue;
        }
        let target = Path::new(target);
        let path = match base {
            _ if target.is_absolute() => target.to_owned(),
            Some(base) => base.join(target),
            None => continue,
        };
        let included = read_normalized(&path)?;
        let nested = with_includes(included, path.parent(), depth + 1)?;
        out.extend(nested.into_iter().map(|inner| format!("{line} => {inner}")));
    }
    let mut all = lines;
    all.extend(out);
    Ok(all)
}

/// The file named by a normalized `-r`/`-c` line (`-r a.txt`, `-ra.txt`,
/// `--requirement=a.txt`, `--constraint a.txt`).
fn include_target(line: &str) -> Option<&str> {
    for long in ["--requirement", "--constraint"] {
        if let Some(rest) = line.strip_prefix(long) {
            let rest = rest.strip_prefix(['=', ' '])?;
            return Some(rest.trim()).filter(|t| !t.is_empty());
        }
    }
    for short in ["-r", "-c"] {
        if let Some(rest) = line.strip_prefix(short) {
            let rest = rest.trim_start_matches(['=', ' ']);
            return Some(rest.trim()).filter(|t| !t.is_empty());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_lines_are_recognised() {
        assert_eq!(include_target("-r base.txt"), Some("base.txt"));
        assert_eq!(include_target("-rbase.txt"), Some("base.txt"));
        assert_eq!(
            include_target("--requirement=dir/base.txt"),
            Some("dir/base.txt")
        );
        assert_eq!(include_target("--constraint c.txt"), Some("c.txt"));
        assert_eq!(include_target("-c c.txt"), Some("c.txt"));
        assert_eq!(include_target("--requirements-only"), None);
        assert_eq!(include_target("-e ./pkg"), None);
        assert_eq!(include_target("six==1.16.0"), None);
        assert_eq!(include_target("-r"), None);
    }

    #[test]
    fn an_included_file_is_part_of_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("requirements.txt");
        fs::write(&top, "-r base.txt\ntomli\n").unwrap();
        fs::write(dir.path().join("base.txt"), "Six == 1.16.0 # pinned\n").unwrap();
        let loaded = Loaded::load(&Requirements::File(top.clone())).unwrap();
        assert_eq!(
            loaded.key_lines,
            ["-r base.txt", "tomli", "-r base.txt => six==1.16.0"]
        );
        assert!(matches!(loaded.source, Source::File(ref p) if *p == top));

        fs::write(dir.path().join("base.txt"), "six==1.15.0\n").unwrap();
        let changed = Loaded::load(&Requirements::File(top)).unwrap();
        assert_ne!(loaded.key_lines, changed.key_lines);
    }

    #[test]
    fn a_missing_include_names_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("requirements.txt");
        fs::write(&top, "-r nowhere.txt\n").unwrap();
        match Loaded::load(&Requirements::File(top)) {
            Err(EnvError::Requirements { path, .. }) => assert!(path.ends_with("nowhere.txt")),
            other => panic!("expected a Requirements error, got {other:?}"),
        }
    }

    #[test]
    fn a_list_of_only_comments_installs_nothing() {
        let lines = Requirements::Lines(vec!["# nothing".into(), "   ".into()]);
        let loaded = Loaded::load(&lines).unwrap();
        assert!(loaded.key_lines.is_empty());
        assert!(matches!(loaded.source, Source::Empty));
    }
}
