//! One bootstrap under the Lambda Runtime Interface Emulator, as `tests/tests/lambda_rie.rs`
//! runs them: its own process group (dropping it kills the RIE and the bootstrap), two free
//! ports (invocations, and the Runtime API the RIE serves the bootstrap), a log file.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http1::Conn;

pub struct Rie {
    child: Child,
    pub address: String,
    pub log: PathBuf,
}

/// What to run under the RIE, and with which environment.
#[derive(Clone)]
pub struct Launch {
    pub rie: PathBuf,
    /// The bootstrap and its arguments (`python -m awslambdaric app.handler` for the peer).
    pub program: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
}

pub const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

impl Rie {
    /// Starts the RIE and waits until it takes connections. The RIE starts the bootstrap on
    /// the first invocation, not before (checked: `bootstrap_pid` is `None` until then).
    pub fn start(launch: &Launch, log: &Path) -> Rie {
        for _ in 0..3 {
            let (address, runtime_api) = (free_address(), free_address());
            let output = std::fs::File::create(log).expect("a log file");
            let mut command = Command::new(&launch.rie);
            command
                .arg("--runtime-interface-emulator-address")
                .arg(&address)
                .arg("--runtime-api-address")
                .arg(&runtime_api)
                .args(&launch.program)
                .current_dir(&launch.cwd)
                // Only what Lambda gives a function (and `launch.env`): nothing of this machine's
                // environment, e.g. its SSL_CERT_DIR, which would make the SDK read every
                // certificate file of /etc/ssl/certs at each start.
                .env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .env("LANG", "C.UTF-8")
                .env("TZ", ":UTC")
                .env("LAMBDA_TASK_ROOT", &launch.cwd)
                .stdin(Stdio::null())
                .stdout(output.try_clone().expect("a second handle on the log"))
                .stderr(output)
                .process_group(0);
            for (name, value) in &launch.env {
                command.env(name, value);
            }
            let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", launch.rie.display()));
            let mut rie = Rie { child, address, log: log.to_owned() };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(&rie.address).is_ok() {
                    return rie;
                }
                if matches!(rie.child.try_wait(), Ok(Some(_))) {
                    break; // a port taken in between: try other ones
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        panic!("the RIE did not start; its log: {}", log.display());
    }

    pub fn connect(&self) -> Conn {
        Conn::connect(&self.address).unwrap_or_else(|e| panic!("cannot connect to the RIE at {}: {e}", self.address))
    }

    /// The bootstrap: the RIE's child process, if it has started it.
    pub fn bootstrap_pid(&self) -> Option<u32> {
        let rie = self.child.id();
        let entries = std::fs::read_dir("/proc").ok()?;
        entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).find(|pid| parent_of(*pid) == Some(rie))
    }

    /// The bootstrap's peak resident set (VmHWM), in KiB, read now.
    pub fn bootstrap_peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.bootstrap_pid()?)).ok()?;
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The CPU time the bootstrap has used so far, in ms: the sum of its threads' on-CPU time
    /// (`/proc/<pid>/task/*/schedstat`, nanoseconds). Unlike a latency, it does not grow when
    /// the machine is busy with other work.
    pub fn bootstrap_cpu_ms(&self) -> Option<f64> {
        let pid = self.bootstrap_pid()?;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let ns: u64 = tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Some(ns as f64 / 1e6)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The RIE's own account of the init phase: `INIT REPORT(durationMs: 9.73)`.
    pub fn init_ms(&self) -> Option<f64> {
        let log = self.log_text();
        let at = log.find("INIT REPORT(durationMs: ")? + "INIT REPORT(durationMs: ".len();
        log[at..].split(')').next()?.trim().parse().ok()
    }
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses; split after the last ')'.
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Rie {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    format!("127.0.0.1:{port}")
}
