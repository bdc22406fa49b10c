//! The `url` backend: an existing server, given by `--database-url` / `DATABASE_URL`.
//!
//! querylab does not own this server. It connects with the URL's role, checks that
//! the role may create databases (it refuses rather than write into the given
//! database), and from then on only creates and drops its own `querylab_*`
//! databases. The URL's own database is used read-only, as the maintenance
//! connection for CREATE/DROP DATABASE.

use std::str::FromStr;

use super::{ProvisionConfig, Provisioned, connect_with};
use crate::error::{Error, Result};
use crate::secret::redact_url;

/// Connects to the server named by the URL and checks the role's rights.
pub async fn provision(config: &ProvisionConfig) -> Result<Provisioned> {
    let url = config
        .database_url
        .as_deref()
        .ok_or_else(|| Error::Provision {
            backend: "url",
            message:
                "no URL given: pass --database-url postgres://user@host:port/db or set DATABASE_URL"
                    .into(),
        })?;
    let shown = redact_url(url);
    let mut base = tokio_postgres::Config::from_str(url).map_err(|e| Error::Provision {
        backend: "url",
        message: format!(
            "{shown} is not a valid PostgreSQL URL ({e}); expected postgres://user[:password]@host[:port]/database"
        ),
    })?;
    if base.get_user().is_none() {
        // libpq's default: the OS user name.
        let user = std::env::var("USER").unwrap_or_else(|_| "postgres".into());
        base.user(&user);
    }
    if base.get_password().is_none() {
        // PGPASSWORD is honoured as libpq does; it is never printed.
        if let Ok(pw) = std::env::var("PGPASSWORD") {
            base.password(pw);
        }
    }
    base.connect_timeout(std::time::Duration::from_secs(10));
    let maintenance_db = base.get_dbname().unwrap_or("postgres").to_string();
    let client = connect_with(&base, &maintenance_db)
        .await
        .map_err(|e| Error::Provision {
            backend: "url",
            message: format!(
                "cannot connect to {shown}: {}; check host, port, user and password (PGPASSWORD), and that the server is running",
                crate::error::pg_message(match &e {
                    Error::Db { source, .. } => source,
                    _ => unreachable!("connect_with returns Db errors"),
                })
            ),
        })?;
    let row = client
        .query_one(
            "SELECT rolcreatedb OR rolsuper, current_user::text FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(|e| Error::db("checking the role's CREATEDB right", e))?;
    let can_create: bool = row.get(0);
    let role: String = row.get(1);
    if !can_create {
        return Err(Error::Provision {
            backend: "url",
            message: format!(
                "role {role} on {shown} lacks CREATEDB; querylab only works in databases it creates and never writes into yours. Run `ALTER ROLE {role} CREATEDB` or use another role"
            ),
        });
    }
    let host = base
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    Ok(Provisioned {
        base,
        maintenance_db,
        backend: "url",
        label: format!("url-{host}"),
        image: None,
        data_dir: None,
        teardown: None,
    })
}
