//! Just enough HTTP/1.1 for test servers and clients: one parser of a
//! request's head (its first line and `Content-Length`), used by a blocking
//! and an async reader alike, and a minimal blocking exchange.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

/// Where a request in `buf` ends, once its head is whole: the end of the
/// head, the body's declared length, and the first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Bytes up to and including the blank line after the headers.
    pub head_len: usize,
    /// The `Content-Length` (0 when absent).
    pub body_len: usize,
    /// The request line, such as `GET /api/v1/admin/api_keys HTTP/1.1`.
    pub first_line: String,
}

impl Head {
    /// Parses the head at the start of `buf`; `None` until it is whole.
    pub fn parse(buf: &[u8]) -> Option<Self> {
        let head_len = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&buf[..head_len]);
        let body_len = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        Some(Self {
            head_len,
            body_len,
            first_line: head.lines().next().unwrap_or_default().to_owned(),
        })
    }

    /// The method and the target (path and query) of the request line.
    pub fn method_and_target(&self) -> Option<(String, String)> {
        let mut parts = self.first_line.split(' ');
        Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
    }
}

/// Reads one request, head and `Content-Length` body, so that closing the
/// connection after answering does not reset it; `None` at end of stream.
pub fn read_request(stream: &mut TcpStream) -> Option<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head = loop {
        if let Some(head) = Head::parse(&buf) {
            break head;
        }
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    while buf.len() < head.head_len + head.body_len {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(head)
}

/// [`read_request`] on a tokio stream.
pub async fn read_request_async(stream: &mut tokio::net::TcpStream) -> Option<Head> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head = loop {
        if let Some(head) = Head::parse(&buf) {
            break head;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    while buf.len() < head.head_len + head.body_len {
        match stream.read(&mut chunk).await {
            Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    Some(head)
}

/// A whole HTTP response with a JSON body, closing the connection.
pub fn json_response(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// One blocking HTTP/1.1 exchange with `Connection: close`: the status line
/// and the body. `key`, when given, goes as a bearer token.
pub fn exchange(
    url: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (String, String) {
    let addr = url.strip_prefix("http://").expect("http url");
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(key) = key {
        req += &format!("Authorization: Bearer {key}\r\n");
    }
    let body = body.unwrap_or("");
    req += &format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::Head;

    #[test]
    fn a_head_is_parsed_once_whole() {
        assert_eq!(Head::parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        let head = Head::parse(b"POST /a?b HTTP/1.1\r\ncontent-LENGTH: 12\r\n\r\n{\"x\"")
            .expect("whole head");
        assert_eq!(head.body_len, 12);
        assert_eq!(head.head_len, 42);
        assert_eq!(
            head.method_and_target(),
            Some(("POST".to_owned(), "/a?b".to_owned()))
        );
    }
}
