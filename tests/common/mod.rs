//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod capture;
pub mod endless;
pub mod faulty;
pub mod logs;
