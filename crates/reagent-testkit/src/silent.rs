//! A loopback port in front of a registry that can fall silent: it accepts
//! every connection and then either holds it, never reading or answering, or
//! passes it through to a real registry.

use std::io::ErrorKind;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// What the port does with a connection it accepts.
#[derive(Debug, Clone)]
enum Mode {
    /// Hold it open and never answer.
    Silent,
    /// Pass its bytes to and from this `host:port`.
    Forward(String),
}

/// A `127.0.0.1` port that accepts connections and, while silent, holds them
/// without a byte of answer (as a registry behind a hung proxy does); while
/// forwarding, passes new connections through to a real registry. It stops,
/// closing whatever it holds, when dropped.
#[derive(Debug)]
pub struct SilentRegistry {
    host: String,
    mode: Arc<Mutex<Mode>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentRegistry {
    /// Start on a free port, silent.
    pub fn start() -> SilentRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let host = listener
            .local_addr()
            .expect("local address of a bound socket")
            .to_string();
        let mode = Arc::new(Mutex::new(Mode::Silent));
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (mode, held, stop) = (mode.clone(), held.clone(), stop.clone());
            thread::spawn(move || accept_loop(&listener, &mode, &held, &stop))
        };
        SilentRegistry {
            host,
            mode,
            held,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`: prefix of references to this registry.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Hold every new connection from now on, answering nothing.
    pub fn go_silent(&self) {
        *self.mode.lock().expect("mode lock") = Mode::Silent;
    }

    /// Pass every new connection from now on through to `host` (`127.0.0.1:PORT`).
    pub fn forward_to(&self, host: &str) {
        *self.mode.lock().expect("mode lock") = Mode::Forward(host.to_string());
    }

    /// How many connections it has accepted and held without answering.
    pub fn held(&self) -> usize {
        self.held.lock().expect("held lock").len()
    }
}

fn accept_loop(
    listener: &TcpListener,
    mode: &Mutex<Mode>,
    held: &Mutex<Vec<TcpStream>>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let now = mode.lock().expect("mode lock").clone();
                match now {
                    Mode::Silent => held.lock().expect("held lock").push(conn),
                    Mode::Forward(to) => forward(conn, &to),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Copy bytes both ways between `client` and a new connection to `to`, each
/// direction on a thread of its own, until either side closes.
fn forward(client: TcpStream, to: &str) {
    let Ok(upstream) = TcpStream::connect(to) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let pipe = |mut from: TcpStream, mut into: TcpStream| {
        thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut into);
            let _ = into.shutdown(Shutdown::Write);
        });
    };
    match (client.try_clone(), upstream.try_clone()) {
        (Ok(client2), Ok(upstream2)) => {
            pipe(client, upstream);
            pipe(upstream2, client2);
        }
        _ => {
            let _ = client.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for SilentRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for conn in self.held.lock().expect("held lock").drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}
