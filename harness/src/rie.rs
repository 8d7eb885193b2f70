//! One bootstrap under the Lambda Runtime Interface Emulator: its own process group (dropping
//! the [`Rie`] kills the RIE and the bootstrap, whatever happened to the caller), two free
//! ports of 127.0.0.1 (invocations, and the Runtime API the RIE serves the bootstrap), a log
//! file with both programs' output.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{Answer, Conn};
use crate::response::Response;

pub const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

/// How long the RIE may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The lines of the log a failure shows.
const TAIL_LINES: usize = 30;

/// An environment variable set (`Some`) or removed (`None`), over what a [`Launch`] had.
pub type EnvChange<'a> = (&'a str, Option<&'a str>);

/// What to run under the RIE, and with which environment: by default this process's own,
/// changed by [`Launch::env`], [`Launch::env_remove`] and [`Launch::env_changes`] in their
/// order; with [`Launch::lambda_environment`], only what Lambda gives a function and those.
#[derive(Debug, Clone)]
pub struct Launch {
    name: String,
    rie: PathBuf,
    /// The bootstrap and its arguments (`python -m awslambdaric app.handler` for a Python peer).
    program: Vec<OsString>,
    cwd: PathBuf,
    lambda_environment: bool,
    env: Vec<(String, Option<String>)>,
    keep_log: bool,
}

impl Launch {
    /// `program` under the RIE at `rie`, from `program`'s directory; `name` names it in
    /// every message.
    pub fn new(name: impl Into<String>, rie: impl Into<PathBuf>, program: impl Into<PathBuf>) -> Launch {
        let program = program.into();
        let cwd = program.parent().map(Path::to_path_buf).unwrap_or_default();
        Launch { name: name.into(), rie: rie.into(), program: vec![program.into_os_string()], cwd, lambda_environment: false, env: Vec::new(), keep_log: true }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn args<I: Into<OsString>>(mut self, args: impl IntoIterator<Item = I>) -> Launch {
        self.program.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Launch {
        self.cwd = dir.into();
        self
    }

    /// Only what Lambda gives a function (`PATH`, `LANG`, `TZ`, `LAMBDA_TASK_ROOT`) and the
    /// variables set here: nothing of this machine's environment, e.g. its SSL_CERT_DIR,
    /// which would make the SDK read every certificate file of /etc/ssl/certs at each start.
    pub fn lambda_environment(mut self) -> Launch {
        self.lambda_environment = true;
        self
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Launch {
        self.env.push((name.to_owned(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, name: &str) -> Launch {
        self.env.push((name.to_owned(), None));
        self
    }

    pub fn env_changes(mut self, changes: &[EnvChange<'_>]) -> Launch {
        self.env.extend(changes.iter().map(|(name, value)| (name.to_string(), value.map(str::to_owned))));
        self
    }

    /// The log file is removed when the [`Rie`] is dropped, unless the thread is panicking
    /// (a failed test's message points at it).
    pub fn log_kept_on_failure_only(mut self) -> Launch {
        self.keep_log = false;
        self
    }

    fn command(&self, address: &str, runtime_api: &str) -> Command {
        let mut command = Command::new(&self.rie);
        command
            .arg("--runtime-interface-emulator-address")
            .arg(address)
            .arg("--runtime-api-address")
            .arg(runtime_api)
            .args(&self.program)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .process_group(0);
        if self.lambda_environment {
            command.env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin").env("LANG", "C.UTF-8").env("TZ", ":UTC").env("LAMBDA_TASK_ROOT", &self.cwd);
        }
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        command
    }
}

/// A bootstrap under the RIE, from [`Rie::start`] until dropped.
pub struct Rie {
    name: String,
    child: Child,
    address: String,
    log: PathBuf,
    keep_log: bool,
}

impl Rie {
    /// Starts the RIE, its output to `log`, and waits until it takes connections. The RIE
    /// starts the bootstrap on the first invocation, not before ([`Rie::bootstrap_pid`] is
    /// `None` until then).
    pub fn start(launch: &Launch, log: &Path) -> Rie {
        for _ in 0..3 {
            // 127.0.0.1:9001 is the Runtime API's unless told, which two RIEs at once cannot share.
            let (address, runtime_api) = (free_address(), free_address());
            let output = std::fs::File::create(log).unwrap_or_else(|e| panic!("cannot create the log {}: {e}", log.display()));
            let child = launch
                .command(&address, &runtime_api)
                .stdout(output.try_clone().expect("a second handle on the log"))
                .stderr(output)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", launch.rie.display()));
            let mut rie = Rie { name: launch.name.clone(), child, address, log: log.to_owned(), keep_log: launch.keep_log };
            if rie.wait_until_listening() {
                return rie;
            }
            // Another process took a port in between: the RIE exited. Try other ones.
        }
        panic!("the RIE for {} did not start; its log: {}\n{}", launch.name, log.display(), std::fs::read_to_string(log).unwrap_or_default());
    }

    /// True once the RIE answers, false if it exited first.
    fn wait_until_listening(&mut self) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&self.address).is_ok() {
                return true;
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the RIE for {} is not listening on {} after {START_TIMEOUT:?}; its log: {}", self.name, self.address, self.log.display());
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// A keep-alive connection to the RIE, for [`Rie::invoke_on`].
    pub fn connect(&self) -> Conn {
        Conn::connect(&self.address).unwrap_or_else(|e| panic!("{}: cannot connect to the RIE at {}: {e}", self.name, self.address))
    }

    /// Invokes the function with `event` over a connection of its own, as API Gateway would.
    pub fn invoke(&self, event: &Value) -> Response {
        self.invoke_on(&mut self.connect(), event.to_string().as_bytes())
    }

    /// Invokes the function with the event `body` (JSON) on `conn`, and reads its response.
    pub fn invoke_on(&self, conn: &mut Conn, body: &[u8]) -> Response {
        let answer = self.send_event(conn, body);
        self.response(&answer)
    }

    /// The invocation's exchange alone, up to the last byte of the RIE's answer: what a
    /// benchmark times, before it reads the [`Rie::response`] off the clock.
    pub fn send_event(&self, conn: &mut Conn, body: &[u8]) -> Answer {
        conn.send("POST", INVOKE_PATH, &[("Content-Type", "application/json")], body)
            .unwrap_or_else(|e| panic!("{}: the invocation got no answer: {e}\n{}", self.name, self.log_tail()))
    }

    /// The function's response in the RIE's `answer`; a panic with the log's last lines if
    /// there is none.
    pub fn response(&self, answer: &Answer) -> Response {
        Response::from_invocation(answer).unwrap_or_else(|why| panic!("{}: {why}\n{}", self.name, self.log_tail()))
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Every byte the RIE and the bootstrap wrote so far.
    pub fn log_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.log).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log_bytes()).into_owned()
    }

    /// The last lines of the log, under its path: for a failure's message.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        format!("last lines of {}:\n{}", self.log.display(), lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n"))
    }

    /// The RIE's own account of the init phase: `INIT REPORT(durationMs: 9.73)`.
    pub fn init_ms(&self) -> Option<f64> {
        let log = self.log();
        let at = log.find("INIT REPORT(durationMs: ")? + "INIT REPORT(durationMs: ".len();
        log[at..].split(')').next()?.trim().parse().ok()
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
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses; split after the last ')'.
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Rie {
    fn drop(&mut self) {
        // The whole group: the RIE and the bootstrap it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_log && !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// `127.0.0.1:port`, with a port the kernel says is free now and that this process has not
/// handed out before: the kernel may give a port it just freed to the next bind, and the tests
/// start RIEs (each with two ports it binds only later) from many threads at once, so two of
/// them could be given one port, and the one that binds second (often its Runtime API, bound at
/// the first invocation) fails, its bootstrap refused a connection.
pub fn free_address() -> String {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> = std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        if HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(port) {
            return format!("127.0.0.1:{port}");
        }
    }
}
