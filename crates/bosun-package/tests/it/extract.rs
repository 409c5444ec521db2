//! `extract`: all of a checked archive into a new folder, or nothing.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use bosun_package::{EntryScript, ErrorClass, Limits, PackageError, extract};

use crate::support::{Builder, declare_size, listing, zip_of};

fn extract_bytes(zip: Vec<u8>, target: &Path) -> Result<bosun_package::Extracted, PackageError> {
    extract(Cursor::new(zip), &Limits::default(), target)
}

#[test]
fn a_bot_in_a_top_folder_is_extracted_without_that_folder() {
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("1.0.0");
    let zip = Builder::new()
        .dir("invoices-main/")
        .file("invoices-main/bot.py", b"print('hi')\n")
        .dir("invoices-main/data/")
        .file("invoices-main/lib/util.py", b"x = 1\n")
        .file("__MACOSX/invoices-main/._bot.py", b"fork")
        .build();
    let extracted = extract_bytes(zip, &target).unwrap();
    assert_eq!(extracted.dir, target);
    assert_eq!(extracted.entry, target.join("bot.py"));
    assert_eq!(extracted.manifest.entry, EntryScript::BotPy);
    assert_eq!((extracted.files, extracted.bytes), (2, 12 + 6));
    assert_eq!(listing(&target), ["bot.py", "data", "lib"]);
    assert_eq!(fs::read(target.join("bot.py")).unwrap(), b"print('hi')\n");
    assert_eq!(fs::read(target.join("lib/util.py")).unwrap(), b"x = 1\n");
    assert!(target.join("data").is_dir());
    // Nothing but the target is left beside it.
    assert_eq!(listing(parent.path()), ["1.0.0"]);
}

#[test]
fn an_existing_target_is_refused_and_left_as_it_was() {
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("1.0.0");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("bot.py"), "old").unwrap();
    let error = extract_bytes(zip_of(&[("bot.py", b"new")]), &target).unwrap_err();
    assert!(
        matches!(&error, PackageError::AlreadyExtracted { target: t } if *t == target),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Exists);
    assert_eq!(fs::read_to_string(target.join("bot.py")).unwrap(), "old");
    assert_eq!(listing(parent.path()), ["1.0.0"]);
    // An empty folder is a target too: it is not silently replaced.
    let empty = parent.path().join("2.0.0");
    fs::create_dir(&empty).unwrap();
    let error = extract_bytes(zip_of(&[("bot.py", b"new")]), &empty).unwrap_err();
    assert!(matches!(error, PackageError::AlreadyExtracted { .. }));
    assert_eq!(listing(&empty), Vec::<String>::new());
}

#[test]
fn a_lying_header_stops_extraction_and_leaves_no_target() {
    // Deflated zeros inflate to 1 MiB; the headers say 1 KiB: a zip bomb's shape.
    let mut zip = zip_of(&[
        ("bot.py", b"print('hi')\n"),
        ("zeros.bin", &vec![0; 1 << 20]),
        ("z_after.py", b"never written"),
    ]);
    declare_size(&mut zip, "zeros.bin", 1024);
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("bomb");
    let error = extract_bytes(zip, &target).unwrap_err();
    assert!(
        matches!(&error, PackageError::EntryData { entry, .. } if entry == "zeros.bin"),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Invalid);
    assert!(!target.exists());
    // The temporary folder, with the file written before, is gone too.
    assert_eq!(listing(parent.path()), Vec::<String>::new());
}

#[test]
fn a_stored_entry_longer_than_declared_is_refused() {
    let mut zip = Builder::new()
        .stored("bot.py", b"print('hi')\n")
        .stored("data.txt", &[b'a'; 5000])
        .build();
    declare_size(&mut zip, "data.txt", 10);
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("t");
    let error = extract_bytes(zip, &target).unwrap_err();
    assert!(
        matches!(&error, PackageError::EntryData { entry, .. } if entry == "data.txt"),
        "{error:?}"
    );
    assert!(!target.exists());
    assert_eq!(listing(parent.path()), Vec::<String>::new());
}

#[test]
fn a_refused_archive_writes_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("t");
    let zip = Builder::new()
        .file("bot.py", b"")
        .symlink("link", "/etc/passwd")
        .build();
    let error = extract_bytes(zip, &target).unwrap_err();
    assert!(matches!(error, PackageError::Symlink { .. }));
    assert_eq!(listing(parent.path()), Vec::<String>::new());
}

#[test]
fn a_target_whose_parent_is_missing_is_an_io_error_naming_it() {
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("missing/t");
    let error = extract_bytes(zip_of(&[("bot.py", b"")]), &target).unwrap_err();
    assert_eq!(error.class(), ErrorClass::Io);
    assert!(
        error
            .to_string()
            .contains(&parent.path().join("missing").display().to_string()),
        "{error}"
    );
}

#[cfg(unix)]
#[test]
fn only_the_execute_bit_of_a_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    use zip::write::SimpleFileOptions;
    let zip = Builder::new()
        .file("bot.py", b"")
        // setuid, executable by all
        .file_with(
            "run.sh",
            b"#!/bin/sh\n",
            SimpleFileOptions::default().external_attributes(0o104_777 << 16),
        )
        // writable by all
        .file_with(
            "data.txt",
            b"",
            SimpleFileOptions::default().external_attributes(0o100_666 << 16),
        )
        .build();
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("t");
    extract_bytes(zip, &target).unwrap();
    let mode = |name: &str| {
        fs::metadata(target.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_ne!(mode("run.sh") & 0o100, 0, "the owner may run it");
    assert_eq!(mode("run.sh") & 0o7022, 0, "no setuid, no write for others");
    assert_eq!(mode("data.txt") & 0o111, 0);
    assert_eq!(mode("data.txt") & 0o022, 0);
}
