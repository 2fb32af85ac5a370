//! A private `docker-registry` on a loopback port.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a fresh registry may take to answer `/v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A `docker-registry serve` process with its own config, storage dir and port.
/// It stops when dropped.
#[derive(Debug)]
pub struct Registry {
    child: Option<Child>,
    host: String,
    dir: tempfile::TempDir,
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local address of a bound socket")
        .port()
}

/// Whether `GET /v2/` on `host` answers 200.
fn answers(host: &str) -> bool {
    let Ok(addr) = host.parse::<SocketAddr>() else {
        return false;
    };
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /v2/ HTTP/1.0\r\nHost: {host}\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    head.starts_with("HTTP/1.") && head.split(' ').nth(1) == Some("200")
}

impl Registry {
    /// Start a registry on a free `127.0.0.1` port with a temp storage dir and
    /// wait until `/v2/` answers. Panics if it cannot be started.
    pub fn start() -> Registry {
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start() {
                Ok(r) => return r,
                Err(e) => last = e,
            }
        }
        panic!("cannot start docker-registry: {last}");
    }

    fn try_start() -> Result<Registry, String> {
        let dir = tempfile::Builder::new()
            .prefix("reagent-registry-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let config = dir.path().join("config.yml");
        let text = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            data.display()
        );
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("spawn docker-registry: {e}"))?;
        let mut registry = Registry {
            child: Some(child),
            host,
            dir,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if answers(&registry.host) {
                return Ok(registry);
            }
            if let Some(c) = registry.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let log = std::fs::read_to_string(registry.dir.path().join("registry.log"))
                        .unwrap_or_default();
                    registry.child = None;
                    return Err(format!("exited with {status}: {log}"));
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        registry.stop();
        Err(format!("no answer on /v2/ within {READY_TIMEOUT:?}"))
    }

    /// `127.0.0.1:PORT`: prefix of references to this registry.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Stop the registry (also done on drop).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// An address (`127.0.0.1:PORT`) where nothing listens: a registry that is down.
    pub fn down() -> String {
        format!("127.0.0.1:{}", free_port())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_address_does_not_answer() {
        assert!(!answers(&Registry::down()));
        assert!(!answers("not an address"));
    }
}
