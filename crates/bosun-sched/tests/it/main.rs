//! Integration tests of bosun-sched against the real filesystem and inotify.

mod watch;
