//! A server on 127.0.0.1 that plays a script, one step per connection:
//! answer, hold the request for ever, or answer only when the test releases
//! it. Each request's arrival is an event the test can wait for, so tests
//! act when the CLI has sent something, never after a sleep.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::Duration,
};

use crate::http::read_request;

/// What the server does with one connection's request.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send this whole HTTP response.
    Respond(String),
    /// Keep the connection open and never answer.
    Hold,
    /// Send this response once the test calls [`Scripted::release`].
    Gated(String),
}

/// A running scripted server.
pub struct Scripted {
    /// Its base URL.
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
    arrivals: mpsc::Receiver<String>,
    release: mpsc::Sender<()>,
}

impl Scripted {
    /// Plays `steps` on one connection after another, in order, the last one
    /// repeated, for at most `steps.len() + 64` connections.
    pub fn start(steps: Vec<Step>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (arrived, arrivals) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let requests = seen.clone();
        thread::spawn(move || {
            let count = steps.len() + 64;
            for (i, stream) in listener.incoming().take(count).enumerate() {
                let Ok(stream) = stream else { return };
                let step = steps[i.min(steps.len() - 1)].clone();
                let (requests, arrived, released) =
                    (requests.clone(), arrived.clone(), released.clone());
                thread::spawn(move || serve(stream, step, &requests, &arrived, &released));
            }
        });
        Self {
            url,
            seen,
            arrivals,
            release,
        }
    }

    /// The request lines seen so far.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("requests").clone()
    }

    /// Waits (20 s at most) for the next request to arrive; its first line.
    pub fn next_request(&self) -> String {
        self.arrivals
            .recv_timeout(Duration::from_secs(20))
            .expect("a request reached the server")
    }

    /// Lets one [`Step::Gated`] response go.
    pub fn release(&self) {
        self.release.send(()).expect("server running");
    }
}

fn serve(
    mut stream: TcpStream,
    step: Step,
    requests: &Mutex<Vec<String>>,
    arrived: &mpsc::Sender<String>,
    released: &Mutex<mpsc::Receiver<()>>,
) {
    let Some(line) = read_request(&mut stream).map(|head| head.first_line) else {
        return;
    };
    requests.lock().expect("requests").push(line.clone());
    let _ = arrived.send(line);
    let response = match step {
        Step::Respond(response) => response,
        Step::Hold => {
            // Held until the client goes away (or 60 s pass).
            let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
            let _ = stream.read(&mut [0u8; 1]);
            return;
        }
        Step::Gated(response) => {
            let gate = released.lock().expect("gate");
            if gate.recv_timeout(Duration::from_secs(60)).is_err() {
                return;
            }
            response
        }
    };
    let _ = stream.write_all(response.as_bytes());
}

/// A key as the API lists it.
pub fn key_json(id: &str, username: &str) -> String {
    format!(
        r#"{{"id":"{id}","username":"{username}","name":"ci","hint":"abcd","created_at":"2026-11-02T09:14:07Z","total_calls":0,"is_active":true,"is_global_key":true}}"#
    )
}

/// A create's 201 body for `key_json(id, username)` with `secret`.
pub fn created_json(id: &str, username: &str, secret: &str) -> String {
    format!(
        r#"{{"secret_key":"{secret}","api_key":{}}}"#,
        key_json(id, username)
    )
}
