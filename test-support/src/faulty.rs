//! A server on 127.0.0.1 that misbehaves on purpose, one scripted reply per
//! request: statuses and bodies of any shape, resets before or during the
//! response, stalls. It speaks just enough HTTP/1.1 for the client, byte by
//! byte under the test's control, which a real framework would not allow.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};

use crate::http::read_request_async;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response.
    Respond {
        /// The status code.
        status: u16,
        /// Headers besides `content-length` and `connection: close`.
        headers: Vec<(&'static str, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Close the connection with a reset before sending anything.
    ResetBeforeResponse,
    /// Send the head with `Content-Length: declared` and `body`, then reset.
    ResetMidBody {
        /// The status code.
        status: u16,
        /// The `Content-Length` declared.
        declared: usize,
        /// What is sent of the body before the reset.
        body: Vec<u8>,
    },
    /// Say nothing for this long, then close.
    Stall(Duration),
    /// A chunked body of `pattern` repeated until the client stops reading
    /// (bounded at 256 MiB, so the test always ends).
    Endless {
        /// The status code.
        status: u16,
        /// The bytes repeated.
        pattern: Vec<u8>,
    },
    /// Declare a large body, then send one byte every `every`, 200 at most.
    Drip {
        /// The status code.
        status: u16,
        /// The pause between bytes.
        every: Duration,
    },
}

impl Reply {
    /// A complete JSON response.
    pub fn json(status: u16, body: &str) -> Self {
        Reply::Respond {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// The same response with one more header.
    pub fn with_header(self, name: &'static str, value: &str) -> Self {
        match self {
            Reply::Respond {
                status,
                mut headers,
                body,
            } => {
                headers.push((name, value.to_owned()));
                Reply::Respond {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// One request as seen: method and raw path with query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The HTTP method.
    pub method: String,
    /// The raw path and query.
    pub target: String,
}

/// A running fault server; dropped with the test's runtime.
pub struct FaultyServer {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultyServer {
    /// Serves the replies in order; once they run out, the last one repeats.
    pub async fn start(script: Vec<Reply>) -> Self {
        assert!(!script.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = seen.clone();
        tokio::spawn(async move {
            let script = Arc::new(script);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let script = script.clone();
                let state = state.clone();
                tokio::spawn(async move { serve(stream, &script, &state).await });
            }
        });
        Self { addr, seen }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn serve(mut stream: TcpStream, script: &[Reply], seen: &Mutex<Vec<Seen>>) {
    let Some((method, target)) = read_request_async(&mut stream)
        .await
        .and_then(|head| head.method_and_target())
    else {
        return;
    };
    let request = Seen { method, target };
    let reply = {
        let mut seen = seen.lock().expect("lock");
        seen.push(request);
        script[(seen.len() - 1).min(script.len() - 1)].clone()
    };
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Status\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head += &format!("{name}: {value}\r\n");
            }
            head += "\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
        Reply::ResetBeforeResponse => reset(stream),
        Reply::ResetMidBody {
            status,
            declared,
            body,
        } => {
            let head = format!(
                "HTTP/1.1 {status} Status\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            reset(stream);
        }
        Reply::Endless { status, pattern } => {
            let head = format!(
                "HTTP/1.1 {status} Status\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let piece = pattern.repeat((64 << 10) / pattern.len().max(1) + 1);
            let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
            chunk.extend_from_slice(&piece);
            chunk.extend_from_slice(b"\r\n");
            let mut sent = 0;
            while sent < 256 << 20 {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += piece.len();
            }
        }
        Reply::Drip { status, every } => {
            let head = format!(
                "HTTP/1.1 {status} Status\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n["
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..200 {
                tokio::time::sleep(every).await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        Reply::Stall(for_how_long) => {
            tokio::time::sleep(for_how_long).await;
        }
    }
}

fn reset(stream: TcpStream) {
    // A zero linger turns the close into a reset (RST), as a crashed peer does.
    let _ = stream.set_zero_linger();
    drop(stream);
}
