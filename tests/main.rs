//! The library's integration tests, one module per concern, in one test
//! binary.

mod axum_service;
mod blocking;
mod call_options;
mod extremes;
mod fake_server;
mod faults;
mod front_door;
mod intervals;
mod key_ids;
mod logs;
mod plan;
mod request_hook;
mod requests;
mod responses;
mod rotation;
mod rotation_engine;
mod schemas;
mod send;
mod support;
mod surface;
mod tls;
mod transport;
