//! Progress on stderr: on a terminal, one line redrawn in place with the records done, the
//! rate and the time left; otherwise (a log, CI) a plain line every few seconds.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Terminal,
    Plain,
    Silent,
}

pub struct Progress {
    mode: Mode,
    every: Duration,
    state: Mutex<Option<Phase>>,
}

struct Phase {
    name: &'static str,
    total: Option<u64>,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    /// On stderr: redrawn on a terminal, plain lines every 5 seconds otherwise.
    pub fn stderr() -> Self {
        if std::io::stderr().is_terminal() { Self::new(Mode::Terminal, Duration::from_millis(200)) } else { Self::new(Mode::Plain, Duration::from_secs(5)) }
    }

    /// Plain lines on stderr every `every` (tests).
    pub fn plain(every: Duration) -> Self {
        Self::new(Mode::Plain, every)
    }

    pub fn silent() -> Self {
        Self::new(Mode::Silent, Duration::MAX)
    }

    fn new(mode: Mode, every: Duration) -> Self {
        Self { mode, every, state: Mutex::new(None) }
    }

    /// Ends the current phase (with its last figures) and starts `name`, of `total` records
    /// if known.
    pub fn start(&self, name: &'static str, total: Option<u64>) {
        self.finish();
        // A terminal shows the phase at once; plain lines start after the first interval, so
        // that a short phase leaves one line (its last).
        let started = Instant::now();
        let drawn = (self.mode == Mode::Plain).then_some(started);
        *self.lock() = Some(Phase { name, total, done: 0, started, drawn });
    }

    pub fn advance(&self, records: u64) {
        let mut state = self.lock();
        let Some(phase) = state.as_mut() else { return };
        phase.done += records;
        if self.mode != Mode::Silent && phase.drawn.is_none_or(|at| at.elapsed() >= self.every) {
            phase.drawn = Some(Instant::now());
            self.draw(phase, false);
        }
    }

    /// Draws the current phase's final figures, if any, and ends it.
    pub fn finish(&self) {
        let phase = self.lock().take();
        if let Some(phase) = phase.filter(|_| self.mode != Mode::Silent) {
            self.draw(&phase, true);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Phase>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn draw(&self, phase: &Phase, last: bool) {
        let line = render(phase.name, phase.done, phase.total, phase.started.elapsed(), last);
        let mut err = std::io::stderr().lock();
        let _ = match (self.mode, last) {
            (Mode::Terminal, false) => write!(err, "\r\x1b[2K{line}"),
            (Mode::Terminal, true) => writeln!(err, "\r\x1b[2K{line}"),
            _ => writeln!(err, "{line}"),
        };
        let _ = err.flush();
    }
}

/// `services: 45000/100000 (45%), 2310/s, 24 s left`.
pub fn render(name: &str, done: u64, total: Option<u64>, elapsed: Duration, last: bool) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { done as f64 / seconds } else { 0.0 };
    let mut line = match total {
        Some(total) if total > 0 => format!("{name}: {done}/{total} ({}%)", done.saturating_mul(100) / total),
        _ => format!("{name}: {done}"),
    };
    line.push_str(&format!(", {rate:.0}/s"));
    match total {
        _ if last => line.push_str(&format!(", done in {}", duration(seconds))),
        Some(total) if rate > 0.0 && total > done => line.push_str(&format!(", {} left", duration((total - done) as f64 / rate))),
        _ => {}
    }
    line
}

fn duration(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if whole < 120 {
        format!("{whole} s")
    } else if whole >= 3600 {
        format!("{}:{:02}:{:02} h", whole / 3600, whole / 60 % 60, whole % 60)
    } else {
        format!("{}:{:02} min", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_tells_the_count_the_rate_and_the_time_left() {
        assert_eq!(render("services", 45_000, Some(100_000), Duration::from_secs(20), false), "services: 45000/100000 (45%), 2250/s, 24 s left");
        assert_eq!(render("reading", 500, None, Duration::from_secs(2), false), "reading: 500, 250/s");
        assert_eq!(render("accounts", 10, Some(10), Duration::from_millis(500), true), "accounts: 10/10 (100%), 20/s, done in 0.5 s");
        assert_eq!(render("services", 1, Some(1_000_000), Duration::from_secs(1), false), "services: 1/1000000 (0%), 1/s, 277:46:39 h left");
        assert_eq!(duration(150.2), "2:30 min");
    }
}
