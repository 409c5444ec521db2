//! Normalizing pip requirement lists, so equal lists share one cached environment.
//!
//! Two lists that differ only in order, comments, blank lines, spacing, letter case of
//! package names or `-`/`_`/`.` spelling (PEP 503) normalize to the same lines and so
//! to the same environment key.

use sha2::{Digest, Sha256};

/// Returns the requirement lines in canonical form: comments and blanks dropped, names
/// normalized per PEP 503, sorted, duplicates removed.
pub fn normalize<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = lines.into_iter().filter_map(normalize_line).collect();
    out.sort();
    out.dedup();
    out
}

/// The cache key of an environment: a hex SHA-256 over the interpreter's version text
/// and the normalized requirements.
pub fn environment_key(interpreter_version: &str, normalized: &[String]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"bosun-env-v1\0");
    hash.update(interpreter_version.trim().as_bytes());
    for line in normalized {
        hash.update(b"\0");
        hash.update(line.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn normalize_line(line: &str) -> Option<String> {
    let line = strip_comment(line).trim();
    if line.is_empty() {
        return None;
    }
    if line.starts_with('-') {
        // Options (`--index-url …`, `-c constraints.txt`) are kept as written, spacing folded.
        return Some(line.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    let split = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(split);
    let mut canonical = String::with_capacity(line.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                canonical.push('-');
            }
            last_sep = true;
        } else {
            canonical.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    canonical.push_str(&fold_spaces(rest));
    Some(canonical)
}

/// Folds whitespace runs to one space and drops spaces next to operators, so
/// `six == 1.0` and `six==1.0` agree while `a and b` in a marker stays intact.
fn fold_spaces(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    let is_op = |c: char| {
        matches!(
            c,
            '<' | '>' | '=' | '!' | '~' | ',' | ';' | '[' | ']' | '(' | ')' | '@'
        )
    };
    let chars: Vec<char> = joined.chars().collect();
    let mut out = String::with_capacity(joined.len());
    for (i, &c) in chars.iter().enumerate() {
        let next_is_op = chars.get(i + 1).is_some_and(|&n| is_op(n));
        let prev_is_op = i > 0 && is_op(chars[i - 1]);
        if c == ' ' && (next_is_op || prev_is_op) {
            continue;
        }
        out.push(c);
    }
    out
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_lists_normalize_alike() {
        let a = normalize("# tools\nRequests >= 2.28\n\nsix==1.16.0  # pinned\n".lines());
        let b = normalize(["six == 1.16.0", "requests>=2.28", "six==1.16.0"]);
        assert_eq!(a, b);
        assert_eq!(a, ["requests>=2.28", "six==1.16.0"]);
        assert_eq!(normalize(["Zope.Interface_x"]), ["zope-interface-x"]);
    }

    #[test]
    fn key_changes_with_interpreter_and_requirements() {
        let reqs = normalize(["six"]);
        let key = environment_key("3.11.7", &reqs);
        assert_eq!(key.len(), 64);
        assert_eq!(key, environment_key("3.11.7\n", &reqs));
        assert_ne!(key, environment_key("3.12.1", &reqs));
        assert_ne!(key, environment_key("3.11.7", &normalize(["six==1.16.0"])));
        assert_ne!(key, environment_key("3.11.7", &[]));
    }

    #[test]
    fn options_and_markers_survive() {
        assert_eq!(
            normalize([
                "--index-url   https://example/simple",
                "pywin32; sys_platform == 'win32'"
            ]),
            [
                "--index-url https://example/simple",
                "pywin32;sys_platform=='win32'"
            ]
        );
        assert_eq!(
            normalize(["x; python_version < '3.8'  and os_name == 'nt'"]),
            ["x;python_version<'3.8' and os_name=='nt'"]
        );
    }
}
