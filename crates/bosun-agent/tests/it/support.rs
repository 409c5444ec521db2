//! What the tests share: a bot package made with the packer `bosun package push` uses.

use std::io::Cursor;

/// A bot package (a ZIP) whose `bot.py` is `script`.
pub(crate) fn package(script: &str) -> Vec<u8> {
    let bot = tempfile::tempdir().unwrap();
    std::fs::write(bot.path().join("bot.py"), script).unwrap();
    // Some bulk, so a connection dropped mid-body has something left to resume.
    let filler: String = (0..4000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(bot.path().join("data.txt"), filler).unwrap();
    let mut zip = Cursor::new(Vec::new());
    bosun_package::pack_dir(bot.path(), &mut zip).unwrap();
    zip.into_inner()
}
