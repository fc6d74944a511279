//! Binding the HTTP listener, with a port fallback: when the configured
//! port is taken, the next free port above it is used (or any free port), and we say so.

use std::io::ErrorKind;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::error::{Error, Result};

/// How many ports above the configured one are tried before asking the OS for any port.
const SCAN: u16 = 50;

pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    let first_error = match TcpListener::bind(addr).await {
        Ok(listener) => return Ok(listener),
        Err(e) if e.kind() == ErrorKind::AddrInUse && addr.port() != 0 => e,
        Err(e) => return Err(Error::Startup(format!("cannot listen on {addr}: {e}"))),
    };
    let candidates = (1..=SCAN)
        .filter_map(|offset| addr.port().checked_add(offset))
        .chain(std::iter::once(0));
    for port in candidates {
        if let Ok(listener) = TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            let actual = listener.local_addr().map(|a| a.port()).unwrap_or(port);
            tracing::warn!(
                "port {} is in use ({first_error}); using port {actual} instead",
                addr.port()
            );
            return Ok(listener);
        }
    }
    Err(Error::Startup(format!(
        "cannot listen on {addr} or any port near it: {first_error}"
    )))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn falls_back_to_a_free_port_when_taken() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let listener = super::bind(addr).await.unwrap();
        assert_ne!(listener.local_addr().unwrap().port(), addr.port());
    }
}
