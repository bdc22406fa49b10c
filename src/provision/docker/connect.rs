//! Connecting to the container: the published port first (what any client can
//! use), then the container's own address when this host reaches it, so that no
//! port forwarder sits between querylab and the server it measures.

use std::time::{Duration, Instant};

use super::engine;

/// How long a real connection may take to succeed after the readiness message.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the probe of the container's own address may take.
const DIRECT_PROBE: Duration = Duration::from_secs(1);

/// Client settings for the superuser at `host:port` (the password stays inside:
/// tokio-postgres' `Config` hides it in `Debug`).
pub(super) fn client_config(host: &str, port: u16, password: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host(host)
        .port(port)
        .user("postgres")
        .password(password)
        .connect_timeout(Duration::from_secs(5));
    c
}

/// Whether the Docker host is this machine (its containers' addresses are then
/// this machine's to reach).
pub(super) fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Client settings for the container's own address, port 5432, when a real
/// connection there succeeds within [`DIRECT_PROBE`]; `None` otherwise.
pub(super) async fn direct_config(id: &str, password: &str) -> Option<tokio_postgres::Config> {
    let docker = engine::engine().await.ok()?;
    let ip = engine::container_ip(&docker, id).await?;
    let config = client_config(&ip.to_string(), 5432, password);
    let mut probe = config.clone();
    probe.dbname("postgres").connect_timeout(DIRECT_PROBE);
    let attempt = async {
        let (client, conn) = probe.connect(tokio_postgres::NoTls).await.ok()?;
        let task = tokio::spawn(conn);
        let ok = client.simple_query("SELECT 1").await.is_ok();
        drop(client);
        let _ = task.await;
        ok.then_some(())
    };
    tokio::time::timeout(2 * DIRECT_PROBE, attempt)
        .await
        .ok()
        .flatten()?;
    Some(config)
}

/// Polls until a real connection to the maintenance database succeeds.
pub(super) async fn wait_for_connection(
    base: &tokio_postgres::Config,
) -> std::result::Result<(), String> {
    let mut cfg = base.clone();
    cfg.dbname("postgres");
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let attempt = cfg.connect(tokio_postgres::NoTls).await;
        match attempt {
            Ok((client, conn)) => {
                let task = tokio::spawn(conn);
                let ok = client.simple_query("SELECT 1").await;
                drop(client);
                let _ = task.await;
                match ok {
                    Ok(_) => return Ok(()),
                    Err(e) if Instant::now() >= deadline => {
                        return Err(crate::error::pg_message(&e));
                    }
                    Err(_) => {}
                }
            }
            Err(e) if Instant::now() >= deadline => return Err(crate::error::pg_message(&e)),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_this_machine_counts_as_loopback() {
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["docker.example.com", "10.0.0.5", "172.17.0.1", ""] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
