//! What `inspect` accepts, what it says about it, and what it refuses.

use std::io::Cursor;

use bosun_package::{
    BotJsonError, EntryScript, ErrorClass, Limits, NameProblem, NoBotReason, PackageError, inspect,
};

use crate::support::{Builder, declare_encrypted, declare_method, declare_size, rename, zip_of};

fn inspect_bytes(zip: Vec<u8>) -> Result<bosun_package::Manifest, PackageError> {
    inspect(Cursor::new(zip), &Limits::default())
}

#[test]
fn a_bot_at_the_top_is_found_with_its_counts() {
    let manifest = inspect_bytes(zip_of(&[
        ("main.py", b"print(1)\n"),
        ("requirements.txt", b"requests\n"),
        ("lib/util.py", b"x = 1\n"),
    ]))
    .unwrap();
    assert_eq!(manifest.root, "");
    assert_eq!(manifest.entry, EntryScript::MainPy);
    assert_eq!(manifest.entry_path(), "main.py");
    assert_eq!(manifest.entries, 3);
    assert_eq!(manifest.unpacked_size, 9 + 9 + 6);
    assert_eq!(manifest.metadata, Default::default());
}

#[test]
fn a_bot_in_one_top_folder_is_found_there() {
    let zip = Builder::new()
        .dir("invoices-main/")
        .file("invoices-main/bot.py", b"")
        .file("invoices-main/lib/x.py", b"")
        .build();
    let manifest = inspect_bytes(zip).unwrap();
    assert_eq!(manifest.root, "invoices-main/");
    assert_eq!(manifest.entry_path(), "invoices-main/bot.py");
}

#[test]
fn bots_in_two_top_folders_are_refused() {
    let error = inspect_bytes(zip_of(&[("a/bot.py", b""), ("b/bot.py", b"")])).unwrap_err();
    assert!(
        matches!(
            error,
            PackageError::NoBot {
                reason: NoBotReason::NotAtTop
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::Invalid);
}

#[test]
fn an_archive_without_a_bot_is_refused_saying_what_to_add() {
    let error = inspect_bytes(zip_of(&[("run.py", b"")])).unwrap_err();
    assert!(matches!(
        error,
        PackageError::NoBot {
            reason: NoBotReason::NotAtTop
        }
    ));
    let error = inspect_bytes(zip_of(&[("mybot/run.py", b"")])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the archive holds no bot: its one folder `mybot` has no bot.py or main.py at its top: \
         add one of them"
    );
    let error = inspect_bytes(Builder::new().dir("empty/").build()).unwrap_err();
    assert!(matches!(
        error,
        PackageError::NoBot {
            reason: NoBotReason::Empty
        }
    ));
}

#[test]
fn finders_resource_forks_do_not_count_as_a_second_folder() {
    let manifest = inspect_bytes(zip_of(&[
        ("mybot/bot.py", b""),
        ("__MACOSX/mybot/._bot.py", b"\0\x05\x16\x07"),
    ]))
    .unwrap();
    assert_eq!(manifest.root, "mybot/");
}

#[test]
fn bot_json_beside_the_entry_gives_the_metadata() {
    let manifest = inspect_bytes(zip_of(&[
        ("bot/bot.py", b""),
        (
            "bot/bot.json",
            br#"{"name": "invoices", "description": "Reads invoices", "version": "1.2.0"}"#,
        ),
    ]))
    .unwrap();
    let metadata = manifest.metadata;
    assert_eq!(metadata.name.unwrap().as_str(), "invoices");
    assert_eq!(metadata.description.as_deref(), Some("Reads invoices"));
    assert_eq!(metadata.version.unwrap().as_str(), "1.2.0");
}

#[test]
fn bot_json_in_pascal_case_is_read_too() {
    let manifest = inspect_bytes(zip_of(&[
        ("bot.py", b""),
        (
            "bot.json",
            br#"{"Name": "invoices", "Description": "d", "Version": "2"}"#,
        ),
    ]))
    .unwrap();
    assert_eq!(manifest.metadata.name.unwrap().as_str(), "invoices");
    assert_eq!(manifest.metadata.description.as_deref(), Some("d"));
    assert_eq!(manifest.metadata.version.unwrap().as_str(), "2");
}

#[test]
fn bot_json_away_from_the_entry_is_not_read() {
    let manifest = inspect_bytes(zip_of(&[
        ("bot.py", b""),
        ("config/bot.json", br#"{"name": "elsewhere"}"#),
    ]))
    .unwrap();
    assert_eq!(manifest.metadata.name, None);
}

#[test]
fn a_wrong_or_huge_bot_json_is_refused() {
    let error = inspect_bytes(zip_of(&[("bot.py", b""), ("bot.json", b"{not json")])).unwrap_err();
    assert!(
        matches!(&error, PackageError::BotJson { entry, source: BotJsonError::NotJson(_) } if entry == "bot.json"),
        "{error:?}"
    );
    let error = inspect_bytes(zip_of(&[
        ("bot.py", b""),
        ("bot.json", br#"{"version": "a b"}"#),
    ]))
    .unwrap_err();
    assert!(matches!(
        error,
        PackageError::BotJson {
            source: BotJsonError::Version(_),
            ..
        }
    ));
    let huge = format!(r#"{{"description": "{}"}}"#, "x".repeat(70 * 1024));
    let error =
        inspect_bytes(zip_of(&[("bot.py", b""), ("bot.json", huge.as_bytes())])).unwrap_err();
    assert!(matches!(
        error,
        PackageError::BotJson {
            source: BotJsonError::TooLarge,
            ..
        }
    ));
}

#[test]
fn a_bot_json_lying_about_its_size_is_capped_while_read() {
    // Declared 10 bytes, 70 KiB inside: the cap holds even past the header's word.
    let huge = format!(r#"{{"description": "{}"}}"#, "x".repeat(70 * 1024));
    let mut zip = zip_of(&[("bot.py", b""), ("bot.json", huge.as_bytes())]);
    declare_size(&mut zip, "bot.json", 10);
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(&error, PackageError::EntryData { entry, .. } if entry == "bot.json"),
        "{error:?}"
    );
}

#[test]
fn what_is_not_a_zip_is_refused_as_such() {
    for bytes in [
        b"".to_vec(),
        b"hello, world".to_vec(),
        b"PK\x03\x04garbage".to_vec(),
    ] {
        let error = inspect_bytes(bytes).unwrap_err();
        assert!(matches!(error, PackageError::NotZip { .. }), "{error:?}");
        assert_eq!(error.class(), ErrorClass::Invalid);
    }
}

/// Writes `placeholder` and renames it to `name`, which the writer might not write.
fn with_name(placeholder: &str, name: &str) -> Vec<u8> {
    let mut zip = zip_of(&[("bot.py", b""), (placeholder, b"evil")]);
    rename(&mut zip, placeholder, name);
    zip
}

#[test]
fn names_that_escape_or_are_not_portable_are_refused() {
    let cases = [
        ("zz/evil", "../evil", NameProblem::ParentDir),
        ("a/zz/zz/evil", "a/../../evil", NameProblem::ParentDir),
        ("zetc/passwd", "/etc/passwd", NameProblem::Absolute),
        ("zzzx", "C:\\x", NameProblem::Colon),
        ("zz/x", "C:/x", NameProblem::Colon),
        ("zzzevil", "..\\evil", NameProblem::Backslash),
        ("azb", "a\0b", NameProblem::Control),
        ("zzz", "a//", NameProblem::EmptyOrDotSegment),
    ];
    for (placeholder, name, problem) in cases {
        let error = inspect_bytes(with_name(placeholder, name)).unwrap_err();
        assert!(
            matches!(&error, PackageError::UnsafeName { entry, problem: p } if entry == name && *p == problem),
            "{name:?}: {error:?}"
        );
    }
}

#[test]
fn a_symlink_entry_is_refused() {
    let zip = Builder::new()
        .file("bot.py", b"")
        .symlink("secrets", "/etc/shadow")
        .build();
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(&error, PackageError::Symlink { entry } if entry == "secrets"),
        "{error:?}"
    );
}

#[test]
fn a_device_entry_is_refused() {
    let options = zip::write::SimpleFileOptions::default().external_attributes(0o020_644 << 16);
    let zip = Builder::new()
        .file("bot.py", b"")
        .file_with("tty", b"", options)
        .build();
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(&error, PackageError::SpecialFile { entry, .. } if entry == "tty"),
        "{error:?}"
    );
}

#[test]
fn more_entries_than_the_limit_are_refused() {
    let zip = zip_of(&[("bot.py", b""), ("a", b""), ("b", b""), ("c", b"")]);
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let error = inspect(Cursor::new(zip.clone()), &limits).unwrap_err();
    assert!(
        matches!(error, PackageError::TooManyEntries { entries: 4, max: 3 }),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::TooLarge);
    let limits = Limits {
        max_entries: 4,
        ..Limits::default()
    };
    assert!(inspect(Cursor::new(zip), &limits).is_ok());
}

#[test]
fn a_declared_size_over_the_cap_is_refused_without_unpacking() {
    let mut zip = zip_of(&[("bot.py", b""), ("big.bin", b"small really")]);
    declare_size(&mut zip, "big.bin", 0x8000_0000);
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(
            error,
            PackageError::TooLarge { unpacked: 0x8000_0000, max } if max == 1 << 30
        ),
        "{error:?}"
    );
    assert_eq!(error.class(), ErrorClass::TooLarge);
}

#[test]
fn the_total_of_the_declared_sizes_is_capped() {
    let zip = zip_of(&[("bot.py", &[b'x'; 600]), ("data.bin", &[0; 600])]);
    let limits = Limits {
        max_unpacked: 1000,
        ..Limits::default()
    };
    let error = inspect(Cursor::new(zip), &limits).unwrap_err();
    assert!(matches!(
        error,
        PackageError::TooLarge {
            unpacked: 1200,
            max: 1000
        }
    ));
}

#[test]
fn two_entries_of_one_name_are_refused() {
    let mut zip = zip_of(&[("bot.py", b"print('a')"), ("bot.pz", b"print('b')")]);
    rename(&mut zip, "bot.pz", "bot.py");
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(error, PackageError::Duplicate { entry: None }),
        "{error:?}"
    );
}

#[test]
fn a_file_and_a_folder_of_one_path_are_refused() {
    let zip = Builder::new()
        .file("bot.py", b"")
        .file("lib", b"")
        .dir("lib/")
        .build();
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(&error, PackageError::Duplicate { entry: Some(e) } if e == "lib"),
        "{error:?}"
    );
    let zip = zip_of(&[("bot.py", b""), ("lib", b""), ("lib/x.py", b"")]);
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(&error, PackageError::FileAndFolder { entry } if entry == "lib"),
        "{error:?}"
    );
}

#[test]
fn encrypted_or_exotically_compressed_entries_are_refused() {
    let mut zip = zip_of(&[("bot.py", b""), ("data", b"x")]);
    declare_encrypted(&mut zip, "data");
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(&error, PackageError::Encrypted { entry } if entry == "data"),
        "{error:?}"
    );

    let mut zip = zip_of(&[("bot.py", b""), ("data", b"x")]);
    declare_method(&mut zip, "data", 12); // bzip2
    let error = inspect_bytes(zip).unwrap_err();
    assert!(
        matches!(&error, PackageError::UnsupportedCompression { entry, .. } if entry == "data"),
        "{error:?}"
    );
}

#[test]
fn a_failing_reader_is_an_io_error_not_a_bad_archive() {
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk gone"))
        }
    }
    impl std::io::Seek for Failing {
        fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
            Err(std::io::Error::other("disk gone"))
        }
    }
    let error = inspect(Failing, &Limits::default()).unwrap_err();
    assert!(matches!(error, PackageError::Read { .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Io);
}
