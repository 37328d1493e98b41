//! TLS for real: a local HTTPS server with a private CA's certificates
//! (`fixtures/tls/`, made by its `make.sh`), to check the custom root CA and
//! client-certificate (mTLS) options.

use std::sync::Arc;

use h2ogpte_api_keys::{Client, Error, ListQuery, RetryPolicy, reqwest};
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tokio_rustls::TlsAcceptor;

const CA_PEM: &str = include_str!("fixtures/tls/ca.pem");
const SERVER_PEM: &str = include_str!("fixtures/tls/server.pem");
const SERVER_KEY: &str = include_str!("fixtures/tls/server.key");
const CLIENT_PEM: &str = include_str!("fixtures/tls/client.pem");
const CLIENT_KEY: &str = include_str!("fixtures/tls/client.key");

/// A private CA, a server certificate for 127.0.0.1 and a client
/// certificate, all signed by it.
struct Pki;

impl Pki {
    fn new() -> Self {
        Self
    }

    fn ca_certificate(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(CA_PEM.as_bytes()).expect("CA PEM")
    }

    fn client_identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{CLIENT_PEM}{CLIENT_KEY}").as_bytes())
            .expect("identity PEM")
    }

    /// Serves `[]` over HTTPS on 127.0.0.1; with `require_client_cert`, only
    /// to clients presenting a certificate signed by the CA.
    async fn serve(&self, require_client_cert: bool) -> String {
        h2ogpte_api_keys::install_crypto_provider();
        let builder = ServerConfig::builder();
        let builder = if require_client_cert {
            let mut roots = RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_slice(CA_PEM.as_bytes()).expect("CA PEM"))
                .expect("CA root");
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(SERVER_PEM.as_bytes()).expect("server PEM")],
                PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).expect("server key PEM"),
            )
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            // Bounded: a test makes a few connections at most.
            for _ in 0..16 {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]")
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        format!("https://{addr}")
    }
}

fn builder(url: &str) -> h2ogpte_api_keys::ClientBuilder {
    Client::builder()
        .with_server_url(url)
        .with_api_key("sk-admin")
        .with_retry_policy(RetryPolicy::none())
}

#[tokio::test]
async fn trusted_private_ca_is_accepted() {
    let pki = Pki::new();
    let url = pki.serve(false).await;
    let client = builder(&url)
        .with_root_certificate(pki.ca_certificate())
        .build()
        .expect("client");
    let keys = client
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect("list over TLS");
    assert!(keys.is_empty());
}

#[tokio::test]
async fn untrusted_certificate_is_a_clear_error() {
    let pki = Pki::new();
    let url = pki.serve(false).await;
    let client = builder(&url).build().expect("client");
    let err = client
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect_err("untrusted");
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("with_root_certificate"), "{message}");
}

#[tokio::test]
async fn mutual_tls_accepts_the_identity_and_refuses_its_absence() {
    let pki = Pki::new();
    let url = pki.serve(true).await;
    let with_identity = builder(&url)
        .with_root_certificate(pki.ca_certificate())
        .with_identity(pki.client_identity())
        .build()
        .expect("client");
    with_identity
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect("the server accepts the client certificate");

    let without = builder(&url)
        .with_root_certificate(pki.ca_certificate())
        .build()
        .expect("client");
    let err = without
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect_err("the server requires a client certificate");
    assert!(
        matches!(err, Error::Connect { .. } | Error::Transport { .. }),
        "{err:?}"
    );
}
