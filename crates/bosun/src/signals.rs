//! Ctrl-C and SIGTERM: the first asks the job (or the server) to stop, a second
//! stops it at once.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Tokens fired by signals to bosun.
#[derive(Clone, Default)]
pub(crate) struct Stop {
    /// Fired by the first SIGINT or SIGTERM: stop gracefully.
    pub(crate) cancel: CancellationToken,
    /// Fired by the second: skip the grace period.
    pub(crate) kill_now: CancellationToken,
}

impl Stop {
    /// Starts listening. Must be called before the job is spawned, so that Ctrl-C never
    /// takes bosun down before it has stopped the job.
    pub(crate) fn listen() -> std::io::Result<Self> {
        Self::listen_saying("bosun: stopping the job (press Ctrl-C again to kill it now)")
    }

    /// Starts listening; `first` is printed on the first signal, to say what happens
    /// now and what a second signal does.
    pub(crate) fn listen_saying(first: impl Into<String>) -> std::io::Result<Self> {
        let first = first.into();
        let stop = Self::default();
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let tokens = stop.clone();
        tokio::spawn(async move {
            for round in 0.. {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                if round == 0 {
                    eprintln!("{first}");
                    tokens.cancel.cancel();
                } else {
                    tokens.kill_now.cancel();
                }
            }
        });
        Ok(stop)
    }
}
