//! .NET `TimeSpan` text, the way seed 002's `JobRunResult.Duration` serializes.
//!
//! `System.Text.Json` writes a `TimeSpan` as `[d.]hh:mm:ss[.fffffff]`; bosun writes the
//! same so that consumers of the seed's result objects keep working.

use std::time::Duration;

/// Formats `d` as .NET's constant ("c") `TimeSpan` format, e.g. `00:01:02.5000000`.
pub fn format(d: Duration) -> String {
    let total = d.as_secs();
    let days = total / 86_400;
    let hours = (total / 3600) % 24;
    let minutes = (total / 60) % 60;
    let seconds = total % 60;
    let ticks = d.subsec_nanos() / 100;
    let mut out = String::with_capacity(24);
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{hours:02}:{minutes:02}:{seconds:02}"));
    if ticks > 0 {
        out.push_str(&format!(".{ticks:07}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_dotnet_timespan() {
        assert_eq!(format(Duration::ZERO), "00:00:00");
        assert_eq!(format(Duration::from_millis(62_500)), "00:01:02.5000000");
        assert_eq!(format(Duration::from_secs(90_061)), "1.01:01:01");
        assert_eq!(
            format(Duration::from_nanos(1_234_567_800)),
            "00:00:01.2345678"
        );
    }
}

/// Parses .NET's constant `TimeSpan` text (`[d.]hh:mm:ss[.fffffff]`).
pub fn parse(text: &str) -> Option<Duration> {
    let (days, rest) = match text.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, text),
    };
    let (clock, fraction) = match rest.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (rest, None),
    };
    let mut parts = clock.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || h > 23 || m > 59 || s > 59 {
        return None;
    }
    let nanos = match fraction {
        Some(f) if !f.is_empty() && f.len() <= 7 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(7 - f.len() as u32) * 100
        }
        Some(_) => return None,
        None => 0,
    };
    Some(Duration::new(days * 86_400 + h * 3600 + m * 60 + s, nanos))
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parse_reads_what_format_writes() {
        for d in [0, 1, 62_500, 90_061_000, 1_234] {
            let d = Duration::from_millis(d);
            assert_eq!(parse(&format(d)), Some(d));
        }
        assert_eq!(parse("00:00:01.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("1:2"), None);
        assert_eq!(parse("00:61:00"), None);
    }
}
