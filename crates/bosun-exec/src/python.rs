//! Temporary stub with the agreed API; replaced by the real module.
#![allow(missing_docs, dead_code, unused)]
use std::path::{Path, PathBuf};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installer {
    Auto,
    Uv,
    Pip,
}
impl std::str::FromStr for Installer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self::Auto)
    }
}
impl std::fmt::Display for Installer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("auto")
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirements {
    None,
    File(PathBuf),
    Lines(Vec<String>),
}
#[derive(Debug, Clone)]
pub struct PythonEnvs;
impl PythonEnvs {
    pub fn new(venvs_dir: impl Into<PathBuf>) -> Self {
        Self
    }
    pub fn with_interpreter(self, interpreter: impl Into<String>) -> Self {
        self
    }
    pub fn with_installer(self, installer: Installer) -> Self {
        self
    }
    pub async fn ensure(&self, requirements: &Requirements) -> Result<PythonEnv, EnvError> {
        Ok(PythonEnv {
            root: "/".into(),
            python: "python3".into(),
            reused: true,
        })
    }
    pub async fn fresh(
        &self,
        dir: &Path,
        requirements: &Requirements,
    ) -> Result<PythonEnv, EnvError> {
        todo!()
    }
}
pub struct PythonEnv {
    pub root: PathBuf,
    pub python: PathBuf,
    pub reused: bool,
}
impl PythonEnv {
    pub async fn remove(self) -> std::io::Result<()> {
        Ok(())
    }
}
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("x")]
    Interpreter {
        interpreter: String,
        message: String,
    },
    #[error("x")]
    Create {
        installer: Installer,
        message: String,
    },
    #[error("x")]
    Install {
        installer: Installer,
        message: String,
    },
    #[error("x")]
    Requirements {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("x")]
    Io {
        about: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}
