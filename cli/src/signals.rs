//! SIGINT and SIGTERM, caught from the start of every command: no signal
//! cuts a command between making a key and delivering its secret, a batch
//! keeps its record, and each command decides what a signal means to it.

use std::{fmt, io};

use tokio::sync::mpsc;

use crate::exit::{EXIT_INTERRUPTED, EXIT_TERMINATED};

/// A signal that asks the command to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The exit code after this signal: 128 plus its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => EXIT_INTERRUPTED,
            Signal::Terminate => EXIT_TERMINATED,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "interrupted (SIGINT)",
            Signal::Terminate => "terminated (SIGTERM)",
        })
    }
}

/// The signals received since [`Signals::listen`], in order.
pub struct Signals {
    received: mpsc::UnboundedReceiver<Signal>,
}

impl Signals {
    /// Starts catching SIGINT and SIGTERM; from here on they no longer end
    /// the process by themselves. Call inside the runtime.
    pub fn listen() -> io::Result<Self> {
        let (tx, received) = mpsc::unbounded_channel();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut interrupt = signal(SignalKind::interrupt())?;
            let mut terminate = signal(SignalKind::terminate())?;
            tokio::spawn(async move {
                loop {
                    let signal = tokio::select! {
                        Some(()) = interrupt.recv() => Signal::Interrupt,
                        Some(()) = terminate.recv() => Signal::Terminate,
                        else => return,
                    };
                    if tx.send(signal).is_err() {
                        return;
                    }
                }
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if tx.send(Signal::Interrupt).is_err() {
                    return;
                }
            }
        });
        Ok(Self { received })
    }

    /// The next signal; waits for ever when none can come.
    pub async fn next(&mut self) -> Signal {
        match self.received.recv().await {
            Some(signal) => signal,
            None => std::future::pending().await,
        }
    }

    /// A signal that came and was not taken yet, if any.
    pub fn pending(&mut self) -> Option<Signal> {
        self.received.try_recv().ok()
    }
}
