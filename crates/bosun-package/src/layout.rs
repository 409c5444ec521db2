//! Where the bot is in a package: the entry rule `bosun run` uses, applied to names.
//!
//! `bosun run` starts a folder that holds `bot.py`, else `main.py`, at its top
//! (`bosun_exec::bot::Bot::locate`, with its list `bosun_exec::bot::ENTRY_SCRIPTS`).
//! That function looks at a folder on disk, so it cannot be called on an archive's
//! listing: [`EntryScript`] mirrors its list, in its order, and a test compares the two.
//! A package holds the bot at its top, or inside exactly one top-level folder, as the
//! archives GitHub makes do (`repo-main/bot.py`).

use std::collections::BTreeSet;

use crate::entry_name::EntryPath;
use crate::error::NoBotReason;

/// The script a package's bot starts from, in the order `bosun run` looks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryScript {
    /// `bot.py`, looked for first.
    BotPy,
    /// `main.py`, used when there is no `bot.py`.
    MainPy,
}

impl EntryScript {
    /// Every entry script, in the order they are looked for.
    pub const ALL: [Self; 2] = [Self::BotPy, Self::MainPy];

    /// The script's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::BotPy => "bot.py",
            Self::MainPy => "main.py",
        }
    }
}

impl std::fmt::Display for EntryScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file_name())
    }
}

/// Where a bot was found: the folder its files are under (`""` or `"name/"`) and its
/// entry script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) root: String,
    pub(crate) entry: EntryScript,
}

/// Finds the bot among `entries` (files and folders, checked and without duplicates).
pub(crate) fn find_bot<'a>(
    entries: impl IntoIterator<Item = &'a EntryPath>,
) -> Result<Found, NoBotReason> {
    let mut files = BTreeSet::new();
    let mut top = BTreeSet::new();
    for entry in entries {
        top.insert(entry.segments[0].as_str());
        if !entry.is_dir {
            files.insert(entry.segments.as_slice());
        }
    }
    if files.is_empty() {
        return Err(NoBotReason::Empty);
    }
    let has_file = |path: &[&str]| {
        files
            .iter()
            .any(|file| file.iter().map(String::as_str).eq(path.iter().copied()))
    };
    if let Some(entry) = EntryScript::ALL
        .into_iter()
        .find(|script| has_file(&[script.file_name()]))
    {
        return Ok(Found {
            root: String::new(),
            entry,
        });
    }
    let mut top = top.into_iter();
    let (Some(folder), None) = (top.next(), top.next()) else {
        return Err(NoBotReason::NotAtTop);
    };
    if has_file(&[folder]) {
        // The one top-level name is a file, not a folder.
        return Err(NoBotReason::NotAtTop);
    }
    match EntryScript::ALL
        .into_iter()
        .find(|script| has_file(&[folder, script.file_name()]))
    {
        Some(entry) => Ok(Found {
            root: format!("{folder}/"),
            entry,
        }),
        None => Err(NoBotReason::NotInFolder {
            folder: folder.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(names: &[&str]) -> Result<Found, NoBotReason> {
        let entries: Vec<EntryPath> = names
            .iter()
            .map(|name| EntryPath::parse(name).unwrap())
            .collect();
        find_bot(&entries)
    }

    fn found(root: &str, entry: EntryScript) -> Result<Found, NoBotReason> {
        Ok(Found {
            root: root.to_owned(),
            entry,
        })
    }

    #[test]
    fn the_entry_rule_is_the_one_bosun_run_uses() {
        let names: Vec<&str> = EntryScript::ALL.iter().map(|s| s.file_name()).collect();
        assert_eq!(names, bosun_exec::bot::ENTRY_SCRIPTS);
    }

    #[test]
    fn a_bot_at_the_top_prefers_bot_py() {
        assert_eq!(
            find(&["main.py", "lib/x.py"]),
            found("", EntryScript::MainPy)
        );
        assert_eq!(find(&["main.py", "bot.py"]), found("", EntryScript::BotPy));
        // A script at the top wins over one in a folder.
        assert_eq!(
            find(&["main.py", "inner/bot.py"]),
            found("", EntryScript::MainPy)
        );
    }

    #[test]
    fn a_bot_in_one_top_folder_is_found_there() {
        assert_eq!(
            find(&[
                "repo-main/",
                "repo-main/bot.py",
                "repo-main/requirements.txt"
            ]),
            found("repo-main/", EntryScript::BotPy)
        );
        // Folder entries are optional in an archive.
        assert_eq!(
            find(&["repo-main/main.py"]),
            found("repo-main/", EntryScript::MainPy)
        );
    }

    #[test]
    fn a_bot_deeper_or_beside_another_folder_is_not_found() {
        assert_eq!(find(&["a/bot.py", "b/bot.py"]), Err(NoBotReason::NotAtTop));
        assert_eq!(
            find(&["a/bot.py", "readme.txt"]),
            Err(NoBotReason::NotAtTop)
        );
        assert_eq!(
            find(&["a/b/bot.py"]),
            Err(NoBotReason::NotInFolder {
                folder: "a".to_owned()
            })
        );
        assert_eq!(find(&["run.py"]), Err(NoBotReason::NotAtTop));
        assert_eq!(find(&["bot.py/"]), Err(NoBotReason::Empty));
        assert_eq!(find(&[]), Err(NoBotReason::Empty));
    }
}
