//! Entry names read as paths, and the rule that keeps every extracted file inside its
//! folder.
//!
//! A name is split on `/` into segments, and refused, rather than repaired, when it is
//! empty, absolute, has a `..`, `.` or empty segment, a `\` (a separator on Windows), a
//! `:` (a drive letter, or an NTFS stream), or a control character (NUL included). What
//! passes can only name a path below the folder it is joined to, on every system. The
//! same rule checks the names of the files a folder is packed from, so what
//! [`pack_dir`](crate::pack_dir) writes, [`inspect`](crate::inspect) accepts.

use crate::error::NameProblem;

/// A checked entry name: its segments, and whether it names a folder (a trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryPath {
    /// At least one, and none empty: [`EntryPath::parse`] refuses the rest.
    pub(crate) segments: Vec<String>,
    pub(crate) is_dir: bool,
}

impl EntryPath {
    /// Reads `name` as a path below an extraction folder, or says which rule it breaks.
    pub(crate) fn parse(name: &str) -> Result<Self, NameProblem> {
        if name.is_empty() {
            return Err(NameProblem::Empty);
        }
        check_chars(name)?;
        if name.starts_with('/') {
            return Err(NameProblem::Absolute);
        }
        let (body, is_dir) = match name.strip_suffix('/') {
            Some(body) => (body, true),
            None => (name, false),
        };
        let segments = body
            .split('/')
            .map(|segment| check_segment(segment).map(|()| segment.to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { segments, is_dir })
    }

    /// The path as the archive spells it, without a trailing `/`.
    pub(crate) fn joined(&self) -> String {
        self.segments.join("/")
    }
}

/// Checks one segment of a path: a file or folder name (which, read from a folder or
/// split from a name, holds no `/`).
pub(crate) fn check_segment(segment: &str) -> Result<(), NameProblem> {
    check_chars(segment)?;
    match segment {
        ".." => Err(NameProblem::ParentDir),
        "" | "." => Err(NameProblem::EmptyOrDotSegment),
        _ => Ok(()),
    }
}

fn check_chars(name: &str) -> Result<(), NameProblem> {
    if name.chars().any(char::is_control) {
        Err(NameProblem::Control)
    } else if name.contains(':') {
        Err(NameProblem::Colon)
    } else if name.contains('\\') {
        Err(NameProblem::Backslash)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_become_segments() {
        let path = EntryPath::parse("bot/lib/util.py").unwrap();
        assert_eq!(path.segments, ["bot", "lib", "util.py"]);
        assert!(!path.is_dir);
        let dir = EntryPath::parse("bot/lib/").unwrap();
        assert_eq!(dir.joined(), "bot/lib");
        assert!(dir.is_dir);
        // Dots inside a name are only a name.
        assert!(EntryPath::parse("..hidden/a..b/.env").is_ok());
    }

    #[test]
    fn every_way_out_of_the_folder_is_refused() {
        let cases = [
            ("", NameProblem::Empty),
            ("/etc/passwd", NameProblem::Absolute),
            ("/", NameProblem::Absolute),
            ("../evil", NameProblem::ParentDir),
            ("a/../../evil", NameProblem::ParentDir),
            ("a/..", NameProblem::ParentDir),
            ("a//b", NameProblem::EmptyOrDotSegment),
            ("./a", NameProblem::EmptyOrDotSegment),
            ("a/./b", NameProblem::EmptyOrDotSegment),
            ("C:\\x", NameProblem::Colon),
            ("C:/x", NameProblem::Colon),
            ("bot.py:stream", NameProblem::Colon),
            ("..\\evil", NameProblem::Backslash),
            ("a\\b", NameProblem::Backslash),
            ("a\0b", NameProblem::Control),
            ("a\nb", NameProblem::Control),
        ];
        for (name, problem) in cases {
            assert_eq!(EntryPath::parse(name), Err(problem), "{name:?}");
        }
    }

    #[test]
    fn a_segment_is_checked_alone_too() {
        assert_eq!(check_segment("x.py"), Ok(()));
        assert_eq!(check_segment(".."), Err(NameProblem::ParentDir));
        assert_eq!(check_segment("a:b"), Err(NameProblem::Colon));
    }
}
