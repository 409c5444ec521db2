//! A log file with a cap that keeps the start and the end of the output.
//!
//! The first half of the cap (the head) is written straight to the log, so it is on
//! disk as soon as it is read, whatever happens to bosun later. What comes after goes
//! to a ring the size of the other half, kept in a file beside the log
//! (`output.log.tail`): memory stays one chunk however much a job prints. When the
//! output ends, [`CappedLog::finish`] appends the ring to the log in order — after a
//! marker line saying how many bytes were left out between them, when the ring wrapped
//! — and removes the ring's file. Output within the cap is logged whole, unmarked.
//!
//! A reader following the log sees the head as it is written, then nothing until the
//! output ends, then the marker and the tail. If bosun is killed before that, the log
//! keeps the head and the ring's file the last part, unordered.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The variable that sets the cap (documented where the binary reads it).
pub(crate) const CAP_VAR: &str = "BOSUN_LOG_CAP";

/// How much of the ring is read at a time when it is appended to the log.
const COPY_CHUNK: usize = 64 * 1024;

/// One stream's log file under a cap.
pub(crate) struct CappedLog {
    path: PathBuf,
    file: File,
    cap: u64,
    /// Room left in the head.
    head_room: u64,
    /// The last byte written to the head, to end it with a line break before a marker.
    last_head_byte: Option<u8>,
    tail: Option<Ring>,
}

/// The end of the output, in a file used as a ring buffer.
struct Ring {
    path: PathBuf,
    file: File,
    size: u64,
    /// Where the next byte goes.
    pos: u64,
    /// Every byte that went to the ring, kept or overwritten.
    total: u64,
    /// The last byte overwritten: whether the oldest one kept starts a line.
    edge: Option<u8>,
}

impl CappedLog {
    /// Creates the log at `path` (or opens it for appending when `append`, its current
    /// length counted in the head), keeping at most about `cap` bytes.
    pub(crate) fn create(path: &Path, cap: u64, append: bool) -> io::Result<Self> {
        let file = if append {
            OpenOptions::new().create(true).append(true).open(path)?
        } else {
            File::create(path)?
        };
        let already = if append { file.metadata()?.len() } else { 0 };
        Ok(Self {
            path: path.to_owned(),
            file,
            cap,
            head_room: (cap / 2).saturating_sub(already),
            last_head_byte: None,
            tail: None,
        })
    }

    /// Writes `chunk`: to the head while it has room, then to the ring.
    pub(crate) fn write(&mut self, mut chunk: &[u8]) -> io::Result<()> {
        if self.head_room > 0 {
            let take = chunk.len().min(self.head_room as usize);
            self.file.write_all(&chunk[..take])?;
            self.head_room -= take as u64;
            if take > 0 {
                self.last_head_byte = Some(chunk[take - 1]);
            }
            chunk = &chunk[take..];
        }
        if chunk.is_empty() {
            return Ok(());
        }
        let ring = match &mut self.tail {
            Some(ring) => ring,
            None => self
                .tail
                .insert(Ring::create(&self.path, self.cap - self.cap / 2)?),
        };
        ring.write(chunk)
    }

    /// Appends the ring to the log (after the marker, when bytes were left out) and
    /// removes the ring's file. Returns how many bytes were left out.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        let Some(ring) = self.tail.take() else {
            return Ok(0);
        };
        let mut omitted = ring.total.saturating_sub(ring.size);
        let mut pieces = ring.pieces();
        if omitted > 0 {
            if ring.edge != Some(b'\n') {
                // The ring starts mid-line: the rest of that line goes with the gap.
                // It may run on past the first piece; with no line end at all, the
                // ring is kept whole.
                if let Some(cut) = line_end(&ring.file, &pieces)? {
                    omitted += cut;
                    let first = pieces[0].1 - pieces[0].0;
                    if cut >= first {
                        pieces.remove(0);
                        pieces[0].0 += cut - first;
                    } else {
                        pieces[0].0 += cut;
                    }
                }
            }
            if self.last_head_byte.is_some_and(|b| b != b'\n') {
                self.file.write_all(b"\n")?;
            }
            writeln!(
                self.file,
                "… bosun: {omitted} bytes of output omitted (log cap {}; set {CAP_VAR} or --max-log-size) …",
                human_size(self.cap)
            )?;
        }
        for (mut start, end) in pieces {
            while start < end {
                let bytes = read_at(&ring.file, (start, end))?;
                self.file.write_all(&bytes)?;
                start += bytes.len() as u64;
            }
        }
        drop(ring.file);
        std::fs::remove_file(&ring.path)?;
        Ok(omitted)
    }
}

impl Ring {
    fn create(log: &Path, size: u64) -> io::Result<Self> {
        let mut name = log.as_os_str().to_owned();
        name.push(".tail");
        let path = PathBuf::from(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        Ok(Self {
            path,
            file,
            size,
            pos: 0,
            total: 0,
            edge: None,
        })
    }

    fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let before = self.total;
        self.total += chunk.len() as u64;
        if self.size == 0 {
            return Ok(());
        }
        if self.total > self.size {
            // The byte just before the oldest one kept, in the ring's whole stream:
            // in this chunk, or in the ring where this chunk's last byte goes.
            let edge = self.total - self.size - 1;
            self.edge = Some(if edge >= before {
                chunk[(edge - before) as usize]
            } else {
                let mut byte = [0];
                self.file.read_exact_at(&mut byte, edge % self.size)?;
                byte[0]
            });
        }
        // Only the last `size` bytes of a chunk can stay. The byte `n` of the ring's
        // whole stream is at `n % size`, also after a chunk larger than the ring.
        let keep = &chunk[chunk.len().saturating_sub(self.size as usize)..];
        let start = (self.total - keep.len() as u64) % self.size;
        let first = keep.len().min((self.size - start) as usize);
        self.file.write_all_at(&keep[..first], start)?;
        self.file.write_all_at(&keep[first..], 0)?;
        self.pos = self.total % self.size;
        Ok(())
    }

    /// The ring's contents in order, as file ranges.
    fn pieces(&self) -> Vec<(u64, u64)> {
        if self.total <= self.size {
            vec![(0, self.total)]
        } else {
            vec![(self.pos, self.size), (0, self.pos)]
        }
    }
}

/// How many bytes of the ring, read in the order of `pieces`, come up to and with the
/// first line end; `None` when there is none.
fn line_end(file: &File, pieces: &[(u64, u64)]) -> io::Result<Option<u64>> {
    let mut before = 0;
    for &(mut start, end) in pieces {
        while start < end {
            let bytes = read_at(file, (start, end))?;
            if let Some(i) = bytes.iter().position(|b| *b == b'\n') {
                return Ok(Some(before + i as u64 + 1));
            }
            before += bytes.len() as u64;
            start += bytes.len() as u64;
        }
    }
    Ok(None)
}

/// Up to one copy chunk of `file` in `range`.
fn read_at(file: &File, (start, end): (u64, u64)) -> io::Result<Vec<u8>> {
    let len = (end.saturating_sub(start) as usize).min(COPY_CHUNK);
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, start)?;
    Ok(bytes)
}

/// A size for people: `100 MiB`, `64 KiB`, `1500 bytes`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    for (unit, name) in UNITS {
        if bytes >= unit {
            return format!("{:.1} {name}", bytes as f64 / unit as f64);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn log_of(chunks: &[&[u8]], cap: u64) -> (String, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.log");
        let mut log = CappedLog::create(&path, cap, false).unwrap();
        for chunk in chunks {
            log.write(chunk).unwrap();
        }
        let omitted = log.finish().unwrap();
        assert!(!dir.path().join("output.log.tail").exists());
        let mut text = String::new();
        File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        (text, omitted)
    }

    #[test]
    fn output_within_the_cap_is_kept_whole() {
        let (text, omitted) = log_of(&[b"one\ntwo\n", b"three\n"], 16);
        assert_eq!((text.as_str(), omitted), ("one\ntwo\nthree\n", 0));
    }

    #[test]
    fn over_the_cap_the_head_and_the_last_whole_lines_stay_with_a_marker() {
        let lines: Vec<String> = (0..100).map(|i| format!("line {i:02}\n")).collect();
        let chunks: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        // 8 bytes a line; a 64-byte cap keeps 4 lines of head and 4 of tail.
        let (text, omitted) = log_of(&chunks, 64);
        let expected = "line 00\nline 01\nline 02\nline 03\n… bosun: 736 bytes of output omitted (log cap 64 bytes; set BOSUN_LOG_CAP or --max-log-size) …\nline 96\nline 97\nline 98\nline 99\n";
        assert_eq!((text.as_str(), omitted), (expected, 736));
    }

    #[test]
    fn a_line_cut_by_the_cap_is_left_out_whole_and_the_head_ends_its_line() {
        let (text, omitted) = log_of(&[b"aaaa\nbbbb\n", b"cccc\n"], 12);
        assert_eq!(
            (text.as_str(), omitted),
            (
                "aaaa\nb\n… bosun: 4 bytes of output omitted (log cap 12 bytes; set BOSUN_LOG_CAP or --max-log-size) …\ncccc\n",
                4
            )
        );
    }

    #[test]
    fn a_line_cut_by_the_cap_is_left_out_whole_where_it_wraps_around_the_ring() {
        // The ring (8 bytes) wraps one byte into the cut line "0000000abc": that
        // line's rest, "abc\n", runs past the ring's first piece.
        let (text, omitted) = log_of(&[b"hhhhhhh\n", b"0000000", b"abc\nend\n"], 16);
        assert_eq!(
            (text.as_str(), omitted),
            (
                "hhhhhhh\n… bosun: 11 bytes of output omitted (log cap 16 bytes; set BOSUN_LOG_CAP or --max-log-size) …\nend\n",
                11
            )
        );
    }

    #[test]
    fn after_a_chunk_larger_than_the_ring_the_kept_lines_stay_whole() {
        // A 12-byte chunk into the 8-byte ring, then a line end: the kept bytes,
        // "bb\nbbbb\n", start a line, which the ring must still know.
        let (text, omitted) = log_of(&[b"hhhhhhh\n", b"aaaa\nbb\nbbbb", b"\n"], 16);
        assert_eq!(
            (text.as_str(), omitted),
            (
                "hhhhhhh\n… bosun: 5 bytes of output omitted (log cap 16 bytes; set BOSUN_LOG_CAP or --max-log-size) …\nbb\nbbbb\n",
                5
            )
        );
    }

    #[test]
    fn a_chunk_larger_than_the_ring_keeps_its_end() {
        let big = [b'x'; 100];
        let (text, omitted) = log_of(&[b"head", &big, b"\nend\n"], 8);
        assert!(text.starts_with("head\n… bosun: "), "{text}");
        assert!(text.ends_with("…\nend\n"), "{text}");
        assert_eq!(omitted, 101);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(100 << 20), "100 MiB");
        assert_eq!(human_size(64 << 10), "64 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(10), "10 bytes");
    }
}
