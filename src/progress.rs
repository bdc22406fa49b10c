//! Progress bars on stderr (indicatif), hidden when stderr is not a terminal or with
//! `--quiet`. Only this module draws; stages ask it for bars.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Owner of the bars of one command.
#[derive(Debug, Clone)]
pub struct Progress {
    multi: MultiProgress,
    visible: bool,
}

impl Progress {
    /// Visible only when `!quiet` and stderr is a terminal.
    pub fn new(quiet: bool) -> Self {
        let visible = !quiet && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            visible,
        }
    }

    /// Whether anything is drawn.
    pub fn visible(&self) -> bool {
        self.visible
    }

    /// A bar counting rows toward `total`, showing rows/s.
    pub fn rows(&self, label: &str, total: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>28} [{bar:30}] {human_pos}/{human_len} rows {per_sec} {elapsed}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        bar
    }

    /// A spinner with a message, for steps without a count.
    pub fn step(&self, label: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>28} {spinner} {msg} {elapsed}")
                .expect("valid template"),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    /// A line above the bars; nothing when they are hidden (`--quiet`, or stderr not a
    /// terminal): what a non-interactive reader needs goes to stdout or results.json.
    pub fn println(&self, line: &str) {
        if self.visible {
            let _ = self.multi.println(line);
        }
    }
}
