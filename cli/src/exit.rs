//! The tool's exit codes, one constant each: what a failure, a signal and
//! an audit end with.

/// Exit code of a success, or of a reader that went away (`| head`).
pub const EXIT_OK: u8 = 0;
/// Exit code of an API or transport error.
pub const EXIT_API: u8 = 1;
/// Exit code of a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a partial failure.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code of an audit that found keys breaking the policy.
pub const EXIT_FINDINGS: u8 = 4;
/// Exit code of an audit that checked nothing: no key matched, or no rule
/// asked for could be checked on the server's keys.
pub const EXIT_NOTHING_CHECKED: u8 = 5;
/// Exit code after Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code after SIGTERM (128 + SIGTERM).
pub const EXIT_TERMINATED: u8 = 143;
