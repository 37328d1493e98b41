//! Helpers shared by the fake server's tests.

#![allow(dead_code)]

pub mod spec;
