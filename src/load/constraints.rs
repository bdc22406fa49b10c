//! Keys, uniques, foreign keys and schema indexes set aside during the bulk load.
//!
//! Building a B-tree once from sorted data is several times cheaper than inserting
//! millions of random keys into it, and a foreign key checked once by a join is
//! cheaper than one lookup per row. So before COPY the schema's primary keys,
//! unique constraints, foreign keys and plain indexes are recorded (as the server
//! prints them) and dropped; afterwards they are re-created under the same names:
//! every index first (keys as plain unique indexes, so that several can be built
//! on one table at once), then the key constraints adopt their indexes
//! (`ADD CONSTRAINT … USING INDEX`), then the foreign keys, whose creation checks
//! every row. A generated row that broke a key or a foreign key fails the load.
//! CHECK and NOT NULL constraints stay on during COPY. Autovacuum is off for the
//! tables meanwhile: it would analyze half-built tables that the load vacuums and
//! analyzes at the end anyway.

use tokio_postgres::Client;

use crate::error::{Error, Result};

/// What was set aside, as the statements that put it back.
#[derive(Debug, Default, Clone)]
pub struct Deferred {
    /// (table, `CREATE [UNIQUE] INDEX …`): the indexes of keys and uniques, and
    /// the schema's other indexes. Independent of each other.
    pub indexes: Vec<(String, String)>,
    /// `ALTER TABLE … ADD CONSTRAINT … USING INDEX …`, once the indexes exist.
    pub keys: Vec<String>,
    /// (table, `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY …`), once the keys exist.
    pub foreign_keys: Vec<(String, String)>,
    /// `ALTER TABLE … RESET (autovacuum_enabled)`, after the final VACUUM.
    pub autovacuum: Vec<String>,
}

/// Records and drops the keys, uniques, foreign keys and non-constraint indexes of
/// every table outside the system schemas.
pub async fn defer(client: &Client) -> Result<Deferred> {
    let db = |what: &'static str| move |e| Error::db(what, e);
    // Deparse with nothing on the search path, so every name comes out qualified.
    client
        .batch_execute("SET search_path = pg_catalog")
        .await
        .map_err(db("reading the schema's constraints"))?;
    let constraints = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname), quote_ident(con.conname),
                    con.contype::text, pg_get_constraintdef(con.oid),
                    pg_get_indexdef(con.conindid), con.condeferrable, con.condeferred
             FROM pg_constraint con
             JOIN pg_class c ON c.oid = con.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE con.contype IN ('p', 'u', 'f') AND con.conparentid = 0
               AND NOT c.relispartition
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_%'
             ORDER BY 1, con.contype = 'p' DESC, 2",
            &[],
        )
        .await
        .map_err(db("reading the schema's constraints"))?;
    let indexes = client
        .query(
            "SELECT format('%I.%I', tn.nspname, t.relname), format('%I.%I', n.nspname, ic.relname),
                    pg_get_indexdef(i.indexrelid)
             FROM pg_index i
             JOIN pg_class ic ON ic.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = ic.relnamespace
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace tn ON tn.oid = t.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_%'
               AND NOT t.relispartition
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                               WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
             ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(db("reading the schema's indexes"))?;
    // Tables whose autovacuum setting is the default (a schema's own choice stays).
    let tables = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r'
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_%'
               AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum\\_enabled=%')
             ORDER BY 1",
            &[],
        )
        .await
        .map_err(db("reading the schema's tables"))?;
    client
        .batch_execute("RESET search_path")
        .await
        .map_err(db("reading the schema's constraints"))?;

    let mut deferred = Deferred::default();
    let mut drop_fks = Vec::new();
    let mut drops = Vec::new();
    for row in &constraints {
        let (table, name, kind): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let drop = format!("ALTER TABLE {table} DROP CONSTRAINT {name}");
        if kind == "f" {
            let def: String = row.get(3);
            drop_fks.push(drop);
            deferred.foreign_keys.push((
                table.clone(),
                format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}"),
            ));
            continue;
        }
        let (index, deferrable, deferred_initially): (String, bool, bool) =
            (row.get(4), row.get(5), row.get(6));
        drops.push(drop);
        deferred.indexes.push((table.clone(), index));
        deferred.keys.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {name} {} USING INDEX {name}{}{}",
            if kind == "p" { "PRIMARY KEY" } else { "UNIQUE" },
            if deferrable { " DEFERRABLE" } else { "" },
            if deferred_initially {
                " INITIALLY DEFERRED"
            } else {
                ""
            },
        ));
    }
    for row in &indexes {
        let (table, index, def): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        drops.push(format!("DROP INDEX {index}"));
        deferred.indexes.push((table, def));
    }
    for row in &tables {
        let table: String = row.get(0);
        drops.push(format!(
            "ALTER TABLE {table} SET (autovacuum_enabled = off)"
        ));
        deferred
            .autovacuum
            .push(format!("ALTER TABLE {table} RESET (autovacuum_enabled)"));
    }
    // Foreign keys first: they depend on the keys they reference.
    let script: Vec<String> = drop_fks.into_iter().chain(drops).collect();
    if !script.is_empty() {
        client
            .batch_execute(&format!("BEGIN; {}; COMMIT", script.join("; ")))
            .await
            .map_err(db("setting keys and indexes aside for the load"))?;
    }
    Ok(deferred)
}
