//! `pack_dir`: a bot folder into an archive the store accepts, and back.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use bosun_package::{EntryScript, Limits, NameProblem, PackageError, extract, inspect, pack_dir};

use crate::support::listing;

fn pack(dir: &Path) -> (Vec<u8>, bosun_package::Packed) {
    let mut out = Cursor::new(Vec::new());
    let packed = pack_dir(dir, &mut out).unwrap();
    (out.into_inner(), packed)
}

fn names(zip: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    archive
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect()
}

/// A bot folder with everything a developer's folder tends to hold.
fn bot_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, data: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    };
    write("bot.py", "from lib import util\n");
    write("requirements.txt", "requests\n");
    write("lib/util.py", "x = 1\n");
    write("lib/__pycache__/util.cpython-312.pyc", "bytecode");
    write("__pycache__/bot.cpython-312.pyc", "bytecode");
    write("stray.pyc", "bytecode");
    write(".venv/bin/python", "");
    write("venv/lib/site.py", "");
    write(".git/HEAD", "ref: refs/heads/main\n");
    write("lib/.git", "gitdir: elsewhere\n");
    write(".env.example", "TOKEN=\n");
    fs::create_dir(root.join("data")).unwrap();
    dir
}

#[test]
fn caches_environments_and_git_data_are_left_out() {
    let dir = bot_folder();
    let (zip, packed) = pack(dir.path());
    assert_eq!(
        names(&zip),
        [
            ".env.example",
            "bot.py",
            "data/",
            "lib/",
            "lib/util.py",
            "requirements.txt"
        ]
    );
    assert_eq!((packed.entries, packed.files), (6, 4));
    assert_eq!(packed.bytes, 21 + 9 + 6 + 7);
    assert_eq!((packed.skipped_symlinks, packed.skipped_special), (0, 0));
}

#[cfg(unix)]
#[test]
fn symlinks_are_skipped_and_counted() {
    let dir = bot_folder();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("lib"), dir.path().join("lib2")).unwrap();
    let (zip, packed) = pack(dir.path());
    assert_eq!(packed.skipped_symlinks, 2);
    assert!(
        !names(&zip)
            .iter()
            .any(|name| name.starts_with("passwd") || name.starts_with("lib2"))
    );
}

#[test]
fn the_archive_round_trips_through_inspect_and_extract() {
    let dir = bot_folder();
    let (zip, _) = pack(dir.path());
    let manifest = inspect(Cursor::new(&zip), &Limits::default()).unwrap();
    assert_eq!(
        (manifest.root.as_str(), manifest.entry),
        ("", EntryScript::BotPy)
    );
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("bot");
    let extracted = extract(Cursor::new(&zip), &Limits::default(), &target).unwrap();
    assert_eq!(extracted.files, 4);
    assert_eq!(
        listing(&target),
        [".env.example", "bot.py", "data", "lib", "requirements.txt"]
    );
    assert_eq!(listing(&target.join("lib")), ["util.py"]);
    assert_eq!(
        fs::read(target.join("bot.py")).unwrap(),
        fs::read(dir.path().join("bot.py")).unwrap()
    );
}

#[cfg(unix)]
#[test]
fn the_execute_bit_survives_the_round_trip() {
    use std::os::unix::fs::PermissionsExt;
    let dir = bot_folder();
    let script = dir.path().join("run.sh");
    fs::write(&script, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o750)).unwrap();
    let (zip, _) = pack(dir.path());
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("bot");
    extract(Cursor::new(zip), &Limits::default(), &target).unwrap();
    let mode = |name: &str| {
        fs::metadata(target.join(name))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_ne!(mode("run.sh") & 0o100, 0);
    assert_eq!(mode("bot.py") & 0o111, 0);
}

#[test]
fn the_same_folder_gives_the_same_bytes() {
    let dir = bot_folder();
    let (first, _) = pack(dir.path());
    // Newer timestamps, same content.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(dir.path().join("bot.py"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let (second, _) = pack(dir.path());
    assert_eq!(first, second);
    fs::write(dir.path().join("bot.py"), "changed\n").unwrap();
    let (third, _) = pack(dir.path());
    assert_ne!(first, third);
}

#[test]
fn a_folder_without_a_bot_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("run.py"), "").unwrap();
    let mut out = Cursor::new(Vec::new());
    let error = pack_dir(dir.path(), &mut out).unwrap_err();
    assert!(
        matches!(&error, PackageError::NoBotInDir { dir: d } if d == dir.path()),
        "{error:?}"
    );
    assert!(out.get_ref().is_empty());
}

#[cfg(unix)]
#[test]
fn a_bot_py_that_is_a_symlink_does_not_make_a_folder_runnable() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("real.py"), "").unwrap();
    std::os::unix::fs::symlink("real.py", dir.path().join("bot.py")).unwrap();
    let error = pack_dir(dir.path(), Cursor::new(Vec::new())).unwrap_err();
    assert!(
        matches!(error, PackageError::NoBotInDir { .. }),
        "{error:?}"
    );
}

#[test]
fn a_file_name_the_store_would_refuse_is_refused_when_packing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("main.py"), "").unwrap();
    fs::write(dir.path().join("notes\\2024.txt"), "").unwrap();
    let error = pack_dir(dir.path(), Cursor::new(Vec::new())).unwrap_err();
    assert!(
        matches!(
            &error,
            PackageError::UnpackableName {
                problem: NameProblem::Backslash,
                ..
            }
        ),
        "{error:?}"
    );
}
