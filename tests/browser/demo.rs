//! `switchdesk demo` for the screen tests: the binary on a database of its own, with its
//! simulated switch and synthetic callers, and the tests' users added once it answers.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const PASSWORD: &str = "screens-test-password";

pub struct Demo {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchdesk"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHDESK_") {
            command.env_remove(key);
        }
    }
    command
}

/// `switchdesk demo` on its own database with a supervisor, an agent user for the demo's
/// agent1001, a viewer who is only an agent, and an admin.
pub async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = binary()
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--seed",
            "3",
        ])
        .args(["--callers-per-minute", "90", "--database", &url])
        .env("SWITCHDESK_DEMO__PASSWORD", PASSWORD)
        .env("SWITCHDESK_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let demo = Demo {
        child,
        base,
        _dir: dir,
    };
    let mut up = false;
    for _ in 0..600 {
        if let Ok(response) = reqwest::get(format!("{}/healthz", demo.base)).await {
            if response.status().is_success() {
                up = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "switchdesk demo did not come up");
    // The demo seeds only a database of its own: the test's users join it once it runs.
    for (name, role) in [
        ("sue", "supervisor"),
        ("agent1001", "agent"),
        ("viewer", "agent"),
        ("ada", "admin"),
    ] {
        let mut child = binary()
            .args(["user", "add", name, "--role", role, "--password-stdin"])
            .env("SWITCHDESK_DATABASE__URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    demo
}
