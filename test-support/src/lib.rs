//! Test servers and helpers shared by the tests of every crate in the
//! workspace (the client's, the CLI's and the fake server's): servers on
//! 127.0.0.1 that capture, misbehave, follow a script or never end a
//! listing; one HTTP/1.1 request parser for all of them; and log capture.
//!
//! Not published: it is a dev-dependency only.

pub mod capture;
pub mod endless;
pub mod faulty;
pub mod http;
pub mod logs;
pub mod scripted;
