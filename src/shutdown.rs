//! Cooperative shutdown on Ctrl-C / SIGTERM.
//!
//! Long stages (loading, measuring) take a [`Shutdown`] and check it between units of
//! work or `select!` on [`Shutdown::cancelled`]; when it fires they return
//! [`crate::Error::Interrupted`] and the guards they hold tear everything down.

use tokio_util::sync::CancellationToken;

/// A cloneable shutdown signal.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A signal that fires only when [`Shutdown::trigger`] is called.
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal that also fires on SIGINT or SIGTERM. Must be called inside a runtime.
    pub fn on_signals() -> Self {
        let s = Self::new();
        let t = s.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                let mut term = match signal(SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            t.trigger();
        });
        s
    }

    /// Fires the signal.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the signal fires.
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }

    /// `Err(Interrupted)` once the signal has fired: for checks between units of work.
    pub fn check(&self) -> crate::Result<()> {
        if self.is_triggered() {
            Err(crate::Error::Interrupted)
        } else {
            Ok(())
        }
    }
}
