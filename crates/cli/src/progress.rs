//! A progress bar on standard error for long work, shown only on a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Bar {
    what: &'static str,
    shown: bool,
    last: Option<Instant>,
}

impl Bar {
    pub fn new(what: &'static str) -> Bar {
        Bar { what, shown: false, last: None }
    }

    /// Redraws at most ten times a second, and always at the end.
    pub fn show(&mut self, done: usize, total: usize) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let due = self.last.is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if !due && done < total {
            return;
        }
        self.last = Some(Instant::now());
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled.min(width));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r[{bar}] {done}/{total} {}", self.what);
        let _ = err.flush();
        self.shown = true;
    }

    pub fn finish(&mut self) {
        if self.shown {
            let _ = writeln!(std::io::stderr());
        }
    }
}
