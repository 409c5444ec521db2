//! Ctrl-C and SIGTERM: the first asks the job to stop, a second kills it at once.

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
                    eprintln!("bosun: stopping the job (press Ctrl-C again to kill it now)");
                    tokens.cancel.cancel();
                } else {
                    tokens.kill_now.cancel();
                }
            }
        });
        Ok(stop)
    }
}
