//! Python environments against a real interpreter and real PyPI installs.
//!
//! These need `python3` on `PATH` and access to PyPI. The uv cases run when `uv` is on
//! `PATH`; with `BOSUN_TEST_REQUIRE_UV=1` (as CI sets it) a missing `uv` fails them instead.
//! Most tests use [`Installer::Auto`] so they are quick where uv is installed; the cases
//! that differ between installers run with each one explicitly.

use std::path::{Path, PathBuf};

use bosun_exec::python::{EnvError, Installer, PythonEnv, PythonEnvs, Requirements};
use tempfile::TempDir;

fn lines(items: &[&str]) -> Requirements {
    Requirements::Lines(items.iter().map(|s| s.to_string()).collect())
}

fn six() -> Requirements {
    lines(&["six==1.16.0"])
}

/// Runs `code` with `python` and returns its trimmed stdout; fails the test if it fails.
async fn run_python(python: &Path, code: &str) -> String {
    let out = tokio::process::Command::new(python)
        .args(["-c", code])
        .output()
        .await
        .unwrap_or_else(|e| panic!("could not run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "{} -c {code:?} failed: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn six_version(env: &PythonEnv) -> String {
    run_python(&env.python, "import six; print(six.__version__)").await
}

fn uv_on_path() -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .any(|dir| dir.join("uv").is_file() || dir.join("uv.exe").is_file())
    })
}

/// Whether the uv cases can run; panics when CI requires them and uv is missing.
fn uv_available() -> bool {
    if uv_on_path() {
        return true;
    }
    if std::env::var("BOSUN_TEST_REQUIRE_UV").as_deref() == Ok("1") {
        panic!(
            "BOSUN_TEST_REQUIRE_UV=1 but uv is not on PATH: install it (python3 -m pip install uv)"
        );
    }
    eprintln!(
        "note: uv is not on PATH; skipping the uv case (set BOSUN_TEST_REQUIRE_UV=1 to make this fail)"
    );
    false
}

/// The directories under `venvs` that hold a finished environment.
fn ready_envs(venvs: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(venvs) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(".bosun-ready").is_file())
        .collect();
    out.sort();
    out
}

/// The core case for one installer: build with six, import it at that version, reuse.
async fn builds_then_reuses(installer: Installer) {
    let dir = TempDir::new().unwrap();
    let envs = PythonEnvs::new(dir.path()).with_installer(installer);

    let env = envs.ensure(&six()).await.unwrap();
    assert!(!env.reused, "the first ensure must build");
    assert!(env.root.starts_with(dir.path()), "{}", env.root.display());
    assert!(env.python.starts_with(&env.root));
    assert_eq!(six_version(&env).await, "1.16.0");

    // The venv really was made by the installer asked for: uv stamps its pyvenv.cfg.
    let cfg = std::fs::read_to_string(env.root.join("pyvenv.cfg")).unwrap();
    assert_eq!(
        cfg.contains("uv = "),
        installer == Installer::Uv,
        "{installer}: {cfg}"
    );

    // A later run (a new PythonEnvs, as a new process would have) reuses it.
    let again = PythonEnvs::new(dir.path())
        .with_installer(installer)
        .ensure(&six())
        .await
        .unwrap();
    assert_eq!(again.root, env.root);
    assert_eq!(again.python, env.python);
    assert!(again.reused, "the second ensure must reuse the environment");
    assert_eq!(ready_envs(dir.path()), std::slice::from_ref(&env.root));
}

#[tokio::test]
async fn pip_builds_an_environment_with_six_then_reuses_it() {
    builds_then_reuses(Installer::Pip).await;
}

#[tokio::test]
async fn uv_builds_an_environment_with_six_then_reuses_it() {
    if uv_available() {
        builds_then_reuses(Installer::Uv).await;
    }
}

#[tokio::test]
async fn equivalent_lists_share_one_environment_and_a_different_list_gets_another() {
    let dir = TempDir::new().unwrap();
    let envs = PythonEnvs::new(dir.path());

    let first = envs
        .ensure(&lines(&["six==1.16.0", "# tools", "tomli"]))
        .await
        .unwrap();
    assert!(!first.reused);
    let reordered = envs
        .ensure(&lines(&["", "Tomli  # toml parser", "SIX == 1.16.0"]))
        .await
        .unwrap();
    assert_eq!(reordered.root, first.root);
    assert!(reordered.reused);

    // The same list in a file shares it too.
    let file = dir.path().join("requirements.txt");
    std::fs::write(&file, "tomli\nsix==1.16.0\n").unwrap();
    let from_file = envs.ensure(&Requirements::File(file)).await.unwrap();
    assert_eq!(from_file.root, first.root);
    assert!(from_file.reused);

    let other = envs.ensure(&six()).await.unwrap();
    assert_ne!(other.root, first.root);
    assert!(!other.reused);
    assert_eq!(
        run_python(
            &other.python,
            "import importlib.util as u; print(u.find_spec('tomli') is None)"
        )
        .await,
        "True",
        "the six-only environment must not have tomli"
    );
    assert_eq!(ready_envs(dir.path()).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ensures_build_once_and_share_the_environment() {
    let dir = TempDir::new().unwrap();
    let a = PythonEnvs::new(dir.path());
    let b = a.clone();
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.ensure(&six()).await }),
        tokio::spawn(async move { b.ensure(&six()).await }),
    );
    let (ea, eb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
    assert_eq!(ea.root, eb.root);
    let mut reused = [ea.reused, eb.reused];
    reused.sort();
    assert_eq!(
        reused,
        [false, true],
        "exactly one of the two must have built it"
    );
    assert_eq!(six_version(&ea).await, "1.16.0");
}

#[tokio::test]
async fn a_half_built_environment_is_removed_and_rebuilt() {
    let dir = TempDir::new().unwrap();
    let envs = PythonEnvs::new(dir.path());
    let env = envs.ensure(&six()).await.unwrap();

    // As a build that crashed before marking the environment ready would leave it.
    std::fs::remove_file(env.root.join(".bosun-ready")).unwrap();
    std::fs::write(env.root.join("leftover.txt"), "from the crashed build").unwrap();

    let rebuilt = envs.ensure(&six()).await.unwrap();
    assert_eq!(rebuilt.root, env.root);
    assert!(
        !rebuilt.reused,
        "an environment without its marker must not be trusted"
    );
    assert!(
        !rebuilt.root.join("leftover.txt").exists(),
        "the unfinished directory must be cleared"
    );
    assert!(rebuilt.root.join(".bosun-ready").is_file());
    assert_eq!(six_version(&rebuilt).await, "1.16.0");
}

async fn unknown_package_fails_naming_it(installer: Installer) {
    let dir = TempDir::new().unwrap();
    let envs = PythonEnvs::new(dir.path()).with_installer(installer);
    let err = envs
        .ensure(&lines(&["bosun-no-such-package-xyz==1.0"]))
        .await
        .expect_err("installing a package that does not exist must fail");
    let text = err.to_string();
    match &err {
        EnvError::Install {
            installer: used,
            message,
        } => {
            assert_eq!(*used, installer);
            assert!(message.contains("bosun-no-such-package-xyz"), "{message}");
        }
        other => panic!("expected EnvError::Install, got {other:?}"),
    }
    assert!(
        text.starts_with(&format!(
            "could not install requirements with {installer}: "
        )),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
    assert!(
        ready_envs(dir.path()).is_empty(),
        "a failed build must not be marked ready"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        left.is_empty(),
        "a failed build must be removed, found {left:?}"
    );
}

#[tokio::test]
async fn pip_reports_an_unknown_package_by_name() {
    unknown_package_fails_naming_it(Installer::Pip).await;
}

#[tokio::test]
async fn uv_reports_an_unknown_package_by_name() {
    if uv_available() {
        unknown_package_fails_naming_it(Installer::Uv).await;
    }
}

#[tokio::test]
async fn a_missing_interpreter_is_an_interpreter_error() {
    let dir = TempDir::new().unwrap();
    for name in ["bosun-no-such-python", "/nonexistent/bin/python3"] {
        let err = PythonEnvs::new(dir.path())
            .with_interpreter(name)
            .ensure(&Requirements::None)
            .await
            .expect_err("a missing interpreter must fail");
        match &err {
            EnvError::Interpreter { interpreter, .. } => assert_eq!(interpreter, name),
            other => panic!("expected EnvError::Interpreter, got {other:?}"),
        }
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn an_interpreter_that_does_not_run_is_an_interpreter_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let fake = dir.path().join("python3");
    std::fs::write(&fake, "#!/bin/sh\necho 'broken python' >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = PythonEnvs::new(dir.path().join("venvs"))
        .with_interpreter(fake.to_str().unwrap())
        .ensure(&Requirements::None)
        .await
        .expect_err("an interpreter that fails must be reported");
    match &err {
        EnvError::Interpreter { message, .. } => {
            assert!(message.contains("broken python"), "{message}")
        }
        other => panic!("expected EnvError::Interpreter, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreadable_requirements_file_is_a_requirements_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("requirements.txt");
    let err = PythonEnvs::new(dir.path())
        .ensure(&Requirements::File(missing.clone()))
        .await
        .expect_err("a missing requirements file must fail");
    match &err {
        EnvError::Requirements { path, .. } => assert_eq!(path, &missing),
        other => panic!("expected EnvError::Requirements, got {other:?}"),
    }
    assert!(err.to_string().contains("requirements.txt"), "{err}");
}

#[tokio::test]
async fn the_environment_is_isolated_from_the_system_python() {
    let dir = TempDir::new().unwrap();
    let env = PythonEnvs::new(dir.path())
        .ensure(&Requirements::None)
        .await
        .unwrap();
    let out = run_python(
        &env.python,
        "import sys\n\
         print(sys.prefix)\n\
         print(sys.prefix != sys.base_prefix)\n\
         print(any(p.startswith(sys.base_prefix) and 'site-packages' in p for p in sys.path))",
    )
    .await;
    let out: Vec<&str> = out.lines().collect();
    assert_eq!(
        std::fs::canonicalize(out[0]).unwrap(),
        std::fs::canonicalize(&env.root).unwrap(),
        "sys.prefix must be the environment"
    );
    assert_eq!(
        out[1], "True",
        "sys.prefix must differ from sys.base_prefix"
    );
    assert_eq!(
        out[2], "False",
        "the base Python's site-packages must not be on sys.path"
    );
}

#[tokio::test]
async fn fresh_builds_at_the_given_directory_and_remove_deletes_it() {
    let dir = TempDir::new().unwrap();
    let venv = dir.path().join("venvs").join("exec-1");
    let envs = PythonEnvs::new(dir.path().join("venvs"));

    let env = envs.fresh(&venv, &six()).await.unwrap();
    assert_eq!(env.root, venv);
    assert!(!env.reused);
    assert_eq!(six_version(&env).await, "1.16.0");
    assert!(
        !venv.join(".bosun-ready").exists(),
        "a fresh environment is not part of the cache"
    );

    let err = envs
        .fresh(&venv, &Requirements::None)
        .await
        .expect_err("the directory is in use");
    assert!(matches!(err, EnvError::Io(_)), "{err:?}");

    env.remove().await.unwrap();
    assert!(!venv.exists(), "remove must delete the directory");
    assert!(
        dir.path().join("venvs").is_dir(),
        "remove must delete nothing else"
    );

    // A fresh build that fails leaves nothing for the caller to clean up.
    let failing = dir.path().join("venvs").join("exec-2");
    let err = envs
        .fresh(&failing, &lines(&["bosun-no-such-package-xyz==1.0"]))
        .await
        .expect_err("an unknown package must fail");
    assert!(matches!(err, EnvError::Install { .. }), "{err:?}");
    assert!(
        !failing.exists(),
        "a failed fresh environment must be removed"
    );
}

#[tokio::test]
async fn a_requirements_file_installs_its_relative_includes_and_is_keyed_by_them() {
    let dir = TempDir::new().unwrap();
    let bot = dir.path().join("bot");
    std::fs::create_dir(&bot).unwrap();
    let file = bot.join("requirements.txt");
    std::fs::write(&file, "-r base.txt\n").unwrap();
    std::fs::write(bot.join("base.txt"), "six==1.16.0\n").unwrap();
    let envs = PythonEnvs::new(dir.path().join("venvs"));

    let env = envs
        .ensure(&Requirements::File(file.clone()))
        .await
        .unwrap();
    assert_eq!(six_version(&env).await, "1.16.0");

    std::fs::write(bot.join("base.txt"), "six==1.15.0\n").unwrap();
    let changed = envs.ensure(&Requirements::File(file)).await.unwrap();
    assert_ne!(
        changed.root, env.root,
        "editing an included file must give a new environment"
    );
    assert_eq!(six_version(&changed).await, "1.15.0");
}

/// The start-up benchmark depends on this: a ready environment is found without running
/// Python. A wrapper interpreter counts its runs.
#[cfg(unix)]
#[tokio::test]
async fn a_ready_environment_is_found_without_running_python() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let count = dir.path().join("runs");
    let wrapper = dir.path().join("counting-python3");
    let script = format!(
        "#!/bin/sh\necho run >> '{}'\nexec python3 \"$@\"\n",
        count.display()
    );
    std::fs::write(&wrapper, &script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runs = || std::fs::read_to_string(&count).map_or(0, |t| t.lines().count());
    let envs =
        || PythonEnvs::new(dir.path().join("venvs")).with_interpreter(wrapper.to_str().unwrap());

    let built = envs().ensure(&Requirements::None).await.unwrap();
    assert!(!built.reused);
    let after_build = runs();
    assert!(after_build >= 1, "building must have run the interpreter");

    let reused = envs().ensure(&Requirements::None).await.unwrap();
    assert!(reused.reused);
    assert_eq!(
        runs(),
        after_build,
        "ensure on a ready environment must not start Python"
    );

    // A changed interpreter file is asked again; its version is the same, so is the env.
    std::fs::write(&wrapper, format!("{script}# upgraded\n")).unwrap();
    let after_change = envs().ensure(&Requirements::None).await.unwrap();
    assert_eq!(
        runs(),
        after_build + 1,
        "a changed interpreter is probed once"
    );
    assert_eq!(after_change.root, built.root);
    assert!(after_change.reused);
}
