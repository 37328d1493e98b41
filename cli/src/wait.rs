//! Waiting that a signal may end: a command's future raced against
//! SIGINT and SIGTERM, and a blocking read moved to a thread of its own so
//! that it can be.

use crate::{failure::Failure, signals::Signals};

/// Runs `work`, a blocking read (a terminal, a FIFO, a slow pipe), on a
/// thread of its own, and waits for it or for a signal, whichever comes
/// first: a signal ends the wait at once with 130 or 143, before the command
/// changes anything, and the thread is left to the process's exit.
pub async fn unless_signalled<T: Send + 'static>(
    signals: &mut Signals,
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("h2ogpte-keys-read".to_owned())
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|e| Failure::api(format!("cannot start a thread to read the input: {e}")))?;
    tokio::select! {
        biased;
        signal = signals.next() => Err(Failure::signalled(
            signal,
            format!("{signal}: stopped while waiting for input; nothing was changed"),
        )),
        result = result => result.unwrap_or_else(|_| {
            Err(Failure::api("the input could not be read: its reader stopped"))
        }),
    }
}

/// `work`, or the first signal's exit (130 or 143), whichever comes first.
pub async fn interruptible<T>(
    signals: &mut Signals,
    work: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::select! {
        result = work => result,
        signal = signals.next() => Err(Failure::signalled(signal, signal.to_string())),
    }
}

/// Runs `work` (the rotation engine, which starts nothing new once `stop`
/// is requested) to its end: a first SIGINT or SIGTERM requests the stop
/// and lets the work in flight finish; a second one stops waiting (`None`:
/// what was in flight is left for a resume). The first signal is returned
/// beside the result.
pub async fn until_second_signal<T>(
    signals: &mut Signals,
    stop: &h2ogpte_api_keys::rotation::Stop,
    work: impl Future<Output = T>,
) -> (Option<T>, Option<crate::signals::Signal>) {
    let mut work = std::pin::pin!(work);
    let mut first = None;
    loop {
        tokio::select! {
            done = &mut work => return (Some(done), first),
            signal = signals.next() => {
                if first.is_some() {
                    return (None, first);
                }
                first = Some(signal);
                stop.request();
                crate::terminal::note(&format!(
                    "{signal}: finishing the rotations in flight, so no secret is lost (signal again to stop at once; `h2ogpte-keys rotate --resume` then settles them)"
                ));
            }
        }
    }
}
