#![doc = include_str!("../README.md")]

pub use httpmock;

/// The generated `operations` module and `MockServerExt` trait.
#[allow(missing_docs, unused_qualifications, clippy::all, clippy::unwrap_used)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/httpmock.rs"));
}

pub use generated::*;

/// A custom matcher (for httpmock's `When::is_true`) that matches the first
/// `n` requests it is asked about, then no more: give it to the first of
/// two mocks of one operation, and the second answers from then on, so a
/// test scripts "fail, then succeed" (a 503 with `Retry-After`, then the
/// answer) in a few lines. httpmock asks a mock's custom matchers only once
/// all its other conditions matched, and tries mocks in the order they
/// were made.
pub fn first_n(n: usize) -> impl Fn(&httpmock::HttpMockRequest) -> bool + Send + Sync + 'static {
    let seen = std::sync::atomic::AtomicUsize::new(0);
    move |_| seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n
}
