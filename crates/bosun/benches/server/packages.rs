//! (d): a package's upload and download through the server against a plain copy of
//! the same file, and the server's memory during a large upload.
//!
//! The package is a bot folder with a file of random bytes (so deflate keeps its
//! size), zipped once with `bosun_package::pack_dir`. An upload streams the ZIP as
//! multipart from its file, as `bosun package push` does; a download asks for a link
//! and streams what it serves into a file. The baseline is `std::fs::copy` of the
//! same ZIP within the same scratch directory: what moving those bytes costs with
//! no server, no HTTP and no checks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::Fallible;

/// How much of a file is read or written at a time, as `bosun package push` does.
const CHUNK: usize = 1024 * 1024;

/// Makes a bot folder in `dir` with `mib` MiB of random bytes, zips it, and returns
/// the ZIP's path.
pub(crate) fn make_package(dir: &Path, mib: usize) -> Fallible<PathBuf> {
    let bot = dir.join("bot");
    std::fs::create_dir_all(&bot)?;
    std::fs::write(bot.join("bot.py"), "print('hello')\n")?;
    let mut data = std::io::BufWriter::new(std::fs::File::create(bot.join("data.bin"))?);
    // xorshift: random enough that deflate cannot shrink it, and cheap.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        data.write_all(&block)?;
    }
    data.flush()?;
    drop(data);
    let zip = dir.join(format!("bot-{mib}.zip"));
    bosun_package::pack_dir(&bot, std::fs::File::create(&zip)?)?;
    std::fs::remove_dir_all(&bot)?;
    Ok(zip)
}

/// Uploads `zip` as version `version` of package `bench`; returns the seconds from
/// the first byte sent to the answer.
pub(crate) async fn upload(
    http: reqwest::Client,
    url: String,
    token: String,
    zip: PathBuf,
    version: String,
) -> Fallible<f64> {
    let size = std::fs::metadata(&zip)?.len();
    let started = Instant::now();
    let file = tokio::fs::File::open(&zip).await?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, CHUNK));
    let form = reqwest::multipart::Form::new()
        .text("name", "bench")
        .text("version", version)
        .part(
            "file",
            reqwest::multipart::Part::stream_with_length(body, size).file_name("bench.zip"),
        );
    let answer = http
        .post(format!("{url}/default/api/packages/upload"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await?;
    let status = answer.status();
    if status != 201 {
        return Err(format!("the upload answered {status}: {}", answer.text().await?).into());
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Downloads version `version` of package `bench` into `to`, through the link the
/// server hands out; returns the seconds from asking for the link to the last byte
/// written, and checks the size.
pub(crate) async fn download(
    http: reqwest::Client,
    url: String,
    token: String,
    version: String,
    to: PathBuf,
    size: u64,
) -> Fallible<f64> {
    let started = Instant::now();
    let link: Value = http
        .get(format!(
            "{url}/default/api/packages/bench/versions/{version}/download"
        ))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let link = link["downloadUrl"]
        .as_str()
        .ok_or_else(|| format!("the download answered no link: {link}"))?
        .to_owned();
    let mut stream = http
        .get(link)
        .send()
        .await?
        .error_for_status()?
        .bytes_stream();
    let mut out = tokio::io::BufWriter::with_capacity(CHUNK, tokio::fs::File::create(&to).await?);
    let mut got = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        got += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    let elapsed = started.elapsed().as_secs_f64();
    if got != size {
        return Err(format!("downloaded {got} bytes of {size}").into());
    }
    Ok(elapsed)
}

/// The baseline: a plain copy of `from` to `to`, in seconds.
pub(crate) fn copy(from: &Path, to: &Path) -> Fallible<f64> {
    let started = Instant::now();
    std::fs::copy(from, to)?;
    Ok(started.elapsed().as_secs_f64())
}
