//! Building the client from the global options: server URL (never guessed),
//! API key, timeout, extra CA certificates and the insecure-http opt-in.

use h2ogpte_api_keys::{
    API_KEY_ENV, Client, ClientBuilder, Error, SERVER_URL_ENV, Setting, reqwest,
};

use crate::{args::Global, failure::Failure, signals::Signals, wait::unless_signalled};

/// Largest CA file read for `--ca-cert`.
const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// A client for the configured server. A missing server URL is an error
/// (the library's, worded here for the command line): an administrator's
/// key is never sent to a server nobody named.
pub async fn client(global: &Global, signals: &mut Signals) -> Result<Client, Failure> {
    let mut builder = ClientBuilder::new();
    if let Some(url) = &global.server_url {
        builder = builder.with_server_url(url);
    }
    if let Some(key) = &global.api_key {
        builder = builder.with_api_key(key);
    }
    builder = builder
        .with_timeout(global.timeout)
        .with_allow_insecure_http(global.allow_insecure_http)
        .with_prefetch(global.prefetch.into())
        .with_max_stream_keys(global.max_keys)
        .with_user_agent(concat!("h2ogpte-keys/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = global.ca_cert.clone() {
        let read = unless_signalled(signals, move || ca_certificates(&path)).await?;
        for certificate in read {
            builder = builder.with_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| match e {
        Error::Config {
            setting: Setting::ServerUrl,
            missing: true,
            ..
        } => Failure::usage(format!(
            "no server: set {SERVER_URL_ENV} to your h2oGPTe server's root, such as https://h2ogpte.example.com, pass --server-url, or name a context (`h2ogpte-keys context --help`)"
        )),
        Error::Config {
            setting: Setting::ApiKey,
            missing: true,
            ..
        } => Failure::usage(format!("no API key: set {API_KEY_ENV} or pass --api-key")),
        e => Failure::from_error(&e, global.timeout),
    })
}

fn ca_certificates(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, Failure> {
    use std::io::Read;
    let cannot = |why: String| Failure::usage(format!("--ca-cert {}: {why}", path.display()));
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem))
        .map_err(|e| cannot(e.to_string()))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(cannot("larger than 1 MiB: is it a PEM file?".to_owned()));
    }
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| cannot(format!("not PEM certificates: {e}")))?;
    if certificates.is_empty() {
        return Err(cannot("holds no PEM certificate".to_owned()));
    }
    Ok(certificates)
}
