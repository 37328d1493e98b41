//! A caller's request hook: headers of its own (a `traceparent`, an OAuth
//! token the caller refreshes) added to every attempt after the client's own
//! rules, never in place of them.

use std::{fmt, sync::Arc};

use reqwest::header::HeaderMap;

/// What a request hook is told of the attempt it runs for.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    operation_id: &'a str,
    attempt: u32,
}

impl RequestInfo<'_> {
    /// The operation, by its operationId (`list_all_api_keys`, …).
    pub fn operation_id(&self) -> &str {
        self.operation_id
    }

    /// The attempt, from 1; a retry runs the hook again with the next one.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

type HookFn = dyn Fn(&RequestInfo<'_>, &mut HeaderMap) + Send + Sync;

/// The hook [`ClientBuilder::with_request_hook`](crate::ClientBuilder::with_request_hook) installs.
#[derive(Clone)]
pub(crate) struct RequestHook(Arc<HookFn>);

impl fmt::Debug for RequestHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestHook")
    }
}

impl RequestHook {
    pub(crate) fn new(
        hook: impl Fn(&RequestInfo<'_>, &mut HeaderMap) + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(hook))
    }

    /// Runs the hook on `headers`, the attempt's headers once the client's
    /// own rules have set them. A header the client owns (`Authorization`,
    /// and those that frame or route the request: [`crate::wire`]'s rule)
    /// that the hook added, replaced or removed refuses the attempt,
    /// naming it; nothing is sent.
    pub(crate) fn run(
        &self,
        operation_id: &str,
        attempt: u32,
        headers: &mut HeaderMap,
    ) -> Result<(), String> {
        let before = headers.clone();
        (self.0)(
            &RequestInfo {
                operation_id,
                attempt,
            },
            headers,
        );
        for name in before.keys().chain(headers.keys()) {
            let Some(why) = crate::wire::refused_header(name.as_str()) else {
                continue;
            };
            let was: Vec<_> = before.get_all(name).iter().collect();
            let is: Vec<_> = headers.get_all(name).iter().collect();
            if was != is {
                return Err(format!(
                    "the request hook changed the {name} header, which a hook may not touch ({why}); it may add headers of its own"
                ));
            }
        }
        Ok(())
    }
}
