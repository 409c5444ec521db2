//! A Server-Sent Events parser for the log streams, fed the response body chunk by
//! chunk as it arrives.
//!
//! It follows the HTML specification's rules: lines end in LF, CRLF or CR (also when a
//! CRLF is split between chunks); `field: value` with one optional space after the
//! colon; several `data:` lines join with `\n`; a blank line ends an event; lines
//! starting with `:` are comments (keep-alives). Unlike the specification it also
//! delivers an event that has a name but no data, so that an `end` with no status
//! still ends the stream.
//!
//! Memory is bounded whatever the server sends: a line longer than [`MAX_LINE`] is cut
//! there (the rest of it is dropped), and an event's data stops growing at
//! [`MAX_EVENT`].

/// The longest line kept; the rest of a longer one is dropped.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// The most data kept for one event.
pub(crate) const MAX_EVENT: usize = 4 << 20;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// Its `event:` name; `message` when it had none.
    pub(crate) name: String,
    /// Its `data:` lines, joined with `\n`.
    pub(crate) data: String,
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    /// The current line so far.
    line: Vec<u8>,
    /// The last chunk ended in CR: an LF at the start of the next one belongs to it.
    after_cr: bool,
    /// The current event's name.
    name: Option<String>,
    /// The current event's data.
    data: String,
    /// Whether the current event has had a `data:` line.
    has_data: bool,
}

impl Parser {
    /// A parser at the start of a stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Reads a chunk; the events it completed are appended to `events`.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], events: &mut Vec<Event>) {
        if chunk.is_empty() {
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.extend_line(&chunk[..end]);
            let mut next = end + 1;
            if chunk[end] == b'\r' {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.process(&line) {
                events.push(event);
            }
            // Reuse the line's allocation, unless one huge line made it large.
            if line.capacity() <= 64 << 10 {
                self.line = line;
                self.line.clear();
            }
            chunk = &chunk[next..];
        }
        self.extend_line(chunk);
    }

    fn extend_line(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Handles one complete line; a blank line may complete an event.
    fn process(&mut self, line: &[u8]) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        match field {
            "event" => self.name = Some(value.to_owned()),
            "data" => {
                let extra = usize::from(self.has_data) + value.len();
                if self.data.len() + extra <= MAX_EVENT {
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
                self.has_data = true;
            }
            // `id` and `retry` matter for reconnecting, which the client does not do.
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        let name = self.name.take();
        let has_data = std::mem::take(&mut self.has_data);
        let data = std::mem::take(&mut self.data);
        if !has_data && name.is_none() {
            return None;
        }
        Some(Event {
            name: name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "message".to_owned()),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<Event> {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut events);
        }
        events
    }

    fn event(name: &str, data: &str) -> Event {
        Event {
            name: name.to_owned(),
            data: data.to_owned(),
        }
    }

    const STREAM: &[u8] = b": keep-alive\n\nevent: log\ndata: hello\ndata: second line\n\n\
                            event: log\ndata:no space\ndata: \n\nevent: end\ndata: Failed\n\n";

    fn expected() -> Vec<Event> {
        vec![
            event("log", "hello\nsecond line"),
            event("log", "no space\n"),
            event("end", "Failed"),
        ]
    }

    #[test]
    fn multi_line_data_and_the_end_event() {
        assert_eq!(parse(&[STREAM]), expected());
    }

    #[test]
    fn any_split_into_chunks_gives_the_same_events() {
        for at in 0..=STREAM.len() {
            let (a, b) = STREAM.split_at(at);
            assert_eq!(parse(&[a, b]), expected(), "split at {at}");
        }
        let mut bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        bytes.insert(3, b"");
        assert_eq!(parse(&bytes), expected(), "one byte at a time");
    }

    #[test]
    fn crlf_and_cr_line_ends_even_split_between_chunks() {
        let crlf = b"event: log\r\ndata: a\r\n\r\nevent: end\r\ndata: Cancelled\r\n\r\n";
        let want = vec![event("log", "a"), event("end", "Cancelled")];
        for at in 0..=crlf.len() {
            let (a, b) = crlf.split_at(at);
            assert_eq!(parse(&[a, b]), want, "split at {at}");
        }
        assert_eq!(
            parse(&[b"data: x\r\rdata: y\r\r"]),
            vec![event("message", "x"), event("message", "y"),]
        );
    }

    #[test]
    fn an_unfinished_event_is_not_delivered() {
        assert_eq!(parse(&[b"event: log\ndata: partial"]), vec![]);
        assert_eq!(parse(&[b"event: end\n\n"]), vec![event("end", "")]);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        parser.feed(b"data: ", &mut events);
        let block = vec![b'x'; 64 << 10];
        for _ in 0..(2 * MAX_LINE / block.len()) {
            parser.feed(&block, &mut events);
            assert!(parser.line.len() <= MAX_LINE);
        }
        parser.feed(b"\n\n", &mut events);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), MAX_LINE - "data: ".len());

        let mut parser = Parser::new();
        let line = format!("data: {}\n", "y".repeat(1 << 19));
        for _ in 0..20 {
            parser.feed(line.as_bytes(), &mut events);
            assert!(parser.data.len() <= MAX_EVENT);
        }
    }
}
