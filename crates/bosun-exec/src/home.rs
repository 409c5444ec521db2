//! The data directory and its layout.
//!
//! `$BOSUN_HOME`, else `$XDG_DATA_HOME/bosun`, else `~/.local/share/bosun`:
//! `Tasks/ Locks/ Temp/ venvs/ BotScripts/ Logs/ TaskQueue.json`, the names seed 001
//! and seed 000 use, so an existing executor's tree can be pointed at directly.

use std::path::{Path, PathBuf};

/// bosun's data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// A home at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The home named by `BOSUN_HOME`, `XDG_DATA_HOME` or `HOME`, in that order.
    pub fn from_env() -> Option<Self> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("BOSUN_HOME")
            .or_else(|| var("XDG_DATA_HOME").map(|d| d.join("bosun")))
            .or_else(|| var("HOME").map(|h| h.join(".local/share/bosun")))
            .map(Self::new)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `Tasks/`: one directory per seed 001 execution.
    pub fn tasks(&self) -> PathBuf {
        self.root.join("Tasks")
    }
    /// `Locks/`: `{id}.lock` for each running seed 001 execution.
    pub fn locks(&self) -> PathBuf {
        self.root.join("Locks")
    }
    /// `Temp/`: scratch space per execution, removed when it ends.
    pub fn temp(&self) -> PathBuf {
        self.root.join("Temp")
    }
    /// `venvs/`: cached Python environments.
    pub fn venvs(&self) -> PathBuf {
        self.root.join("venvs")
    }
    /// `BotScripts/`: extracted bot packages.
    pub fn bot_scripts(&self) -> PathBuf {
        self.root.join("BotScripts")
    }
    /// `Logs/`: logs of `bosun run` executions.
    pub fn logs(&self) -> PathBuf {
        self.root.join("Logs")
    }
    /// `TaskQueue.json`: seed 000's local queue.
    pub fn task_queue(&self) -> PathBuf {
        self.root.join("TaskQueue.json")
    }
}
