//! Capturing what the client logs, to check what it says and never says.
//!
//! One process-wide subscriber, installed once and never replaced, routes
//! each event to the capture of the thread that emits it. Why not a
//! thread-local `set_default` subscriber: tracing caches each callsite's
//! interest globally, and while exactly one scoped subscriber is alive it
//! computes that interest from the *registering thread's* default. A test on
//! another thread, with no subscriber, that reached a callsite first cached
//! "never" for it, and the capturing test then lost that event (about one
//! run in five). With a single global subscriber whose filter says
//! "sometimes" for every callsite (a dynamic filter: a plain `filter_fn`
//! would cache its first answer per callsite), the cached interest can
//! never be wrong.

use std::{
    cell::RefCell,
    future::Future,
    io,
    sync::{Arc, Mutex, Once},
};

use tracing_subscriber::{Layer, filter::dynamic_filter_fn, layer::SubscriberExt};

/// A log writer that keeps everything in memory.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// The capture of the test running on this thread, if it captures.
    static CURRENT: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

fn capturing() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// Writes to this thread's capture; nothing when the thread captures nothing
/// (the filter keeps such events from being formatted at all).
struct Routed;

impl io::Write for Routed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CURRENT.with(|c| match c.borrow_mut().as_mut() {
            Some(captured) => captured.write(buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the routing subscriber once, then makes every callsite that was
/// registered before it (or while it was being installed) ask it again.
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| Routed)
            .with_filter(dynamic_filter_fn(|_, _| capturing()));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other global subscriber in a test binary that captures logs");
    });
    tracing::callsite::rebuild_interest_cache();
}

/// Runs `f` with every event down to TRACE that this thread emits captured
/// (so run it on a current-thread runtime), and returns its value and the
/// log text.
pub async fn logged<T>(f: impl Future<Output = T>) -> (T, String) {
    install();
    let logs = Captured::default();
    CURRENT.with(|c| *c.borrow_mut() = Some(logs.clone()));
    // Reset even if `f` panics, so a later test on this thread captures
    // only its own events.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = None);
        }
    }
    let _reset = Reset;
    let value = f.await;
    (value, logs.text())
}
