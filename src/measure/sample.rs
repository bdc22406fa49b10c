//! The second step of a variant's path: timed samples, and the untimed execution
//! whose rows are digested for the result check.

use std::time::Instant;

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::Measurer;
use super::exec::{ExecError, Execution, PrepareError, RowDigest};
use super::setup::{Session, with_fresh_clone};
use super::stop::{Failed, Stop, pos_str};
use crate::catalog::{Mode, Variant};
use crate::error::Error;

/// One timed sample, in nanoseconds. A `fresh_clone` variant gets a new clone
/// (made and dropped outside the timing).
pub async fn sample(m: &mut Measurer<'_>, s: &Session) -> std::result::Result<u64, Stop> {
    if s.variant.mode == Mode::FreshClone {
        return with_fresh_clone(m, s, false, async |m, client, exec| {
            one_sample(m, &s.variant, &exec, client, None).await
        })
        .await;
    }
    one_sample(m, &s.variant, &s.exec, &s.client, None).await
}

/// The variant's result digest, from an untimed execution (writing variants: the
/// `verify` query's rows after a run on a fresh clone).
pub async fn result(
    m: &mut Measurer<'_>,
    s: &Session,
) -> std::result::Result<crate::results::ResultDigest, Stop> {
    if s.variant.mode == Mode::FreshClone {
        return with_fresh_clone(m, s, false, async |m, client, exec| {
            one_sample(m, &s.variant, &exec, client, None).await?;
            verify(&s.variant, client, s.ordered).await
        })
        .await;
    }
    let mut digest = RowDigest::new(s.ordered);
    one_sample(m, &s.variant, &s.exec, &s.client, Some(&mut digest)).await?;
    Ok(digest.finish())
}

/// One timed execution (rollback mode: inside BEGIN … ROLLBACK, untimed).
async fn one_sample(
    m: &Measurer<'_>,
    v: &Variant,
    exec: &Execution,
    client: &Client,
    digest: Option<&mut RowDigest>,
) -> std::result::Result<u64, Stop> {
    let rollback = v.mode == Mode::Rollback;
    let stmt_err = |e: tokio_postgres::Error| Stop::from(Error::db("sample", e));
    if rollback {
        client.batch_execute("BEGIN").await.map_err(stmt_err)?;
    }
    let t = Instant::now();
    let r = tokio::select! {
        r = exec.run(client, digest) => r,
        _ = m.shutdown.cancelled() => return Err(Stop::Run(Error::Interrupted)),
    };
    let ns = t.elapsed().as_nanos() as u64;
    if rollback {
        // After an error the transaction is aborted; ROLLBACK still ends it.
        client.batch_execute("ROLLBACK").await.map_err(stmt_err)?;
    }
    match r {
        Ok(()) => Ok(ns),
        Err(ExecError { source, .. }) if source.code() == Some(&SqlState::QUERY_CANCELED) => {
            Err(Stop::Timeout)
        }
        Err(ExecError { index, source })
            if source.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) =>
        {
            Err(Stop::Variant(Failed(format!(
                "{}: variant {}, statement {} writes ({}); declare mode = \"rollback\" (each sample undone) or \"fresh_clone\" (each on a new clone): a read-only variant shares its clone with others",
                pos_str(m, v),
                v.name,
                index + 1,
                crate::error::pg_message(&source)
            ))))
        }
        Err(ExecError { index, source }) => {
            let e = Error::db(
                format!(
                    "{}: variant {}, statement {}",
                    pos_str(m, v),
                    v.name,
                    index + 1
                ),
                source,
            );
            Err(e.into())
        }
    }
}

/// The result of a writing variant: its `verify` query's rows after the sample.
async fn verify(
    v: &Variant,
    client: &Client,
    ordered: bool,
) -> std::result::Result<crate::results::ResultDigest, Stop> {
    let mut d = RowDigest::new(ordered);
    if let Some(sql) = &v.verify {
        let exec = Execution::new(
            client,
            super::Protocol::Prepared,
            vec![sql.clone()],
            vec![vec![]],
            false,
        )
        .await
        .map_err(|e| match e {
            PrepareError::Sql { source, .. } => Stop::Variant(Failed(format!(
                "variant {}: verify query failed: {}",
                v.name,
                crate::error::pg_message(&source)
            ))),
            PrepareError::ParamCount { .. } => Stop::Variant(Failed(format!(
                "variant {}: verify query must not use parameters",
                v.name
            ))),
        })?;
        exec.run(client, Some(&mut d))
            .await
            .map_err(|e| Stop::from(Error::db("verify query", e.source)))?;
    }
    Ok(d.finish())
}
