//! Executing a variant once: its statements, its parameters, its repetitions.
//!
//! Parameters are drawn from the loaded data as text and bound in text format, so a
//! scenario author never declares types: the server parses `$1` as whatever type it
//! inferred, exactly as it would parse a literal. Rows are fetched completely (the
//! transfer is part of what an application pays) and, when asked, digested for the
//! result cross-check without converting them to Rust types.

use std::error::Error as StdError;

use bytes::BytesMut;
use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, SimpleQueryMessage, Statement};

pub use crate::results::Protocol;
use crate::results::ResultDigest;

/// A parameter value in text form (`None` is SQL NULL), bound in text format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextParam(pub Option<String>);

/// Column names and rows of a simple query's answer, as text parameters.
pub fn text_rows(msgs: &[SimpleQueryMessage]) -> (Vec<String>, Vec<Vec<TextParam>>) {
    let columns: Vec<String> = msgs
        .iter()
        .find_map(|msg| match msg {
            SimpleQueryMessage::RowDescription(cols) => {
                Some(cols.iter().map(|c| c.name().to_string()).collect())
            }
            SimpleQueryMessage::Row(r) => {
                Some(r.columns().iter().map(|c| c.name().to_string()).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    let rows = msgs
        .iter()
        .filter_map(|msg| match msg {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| TextParam(r.get(i).map(str::to_string)))
                    .collect(),
            ),
            _ => None,
        })
        .collect();
    (columns, rows)
}

impl ToSql for TextParam {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match &self.0 {
            Some(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> postgres_types::Format {
        postgres_types::Format::Text
    }

    to_sql_checked!();
}

/// A column value as raw bytes, whatever its type: what the digest hashes.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }
    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(None))
    }
    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Accumulates a digest of rows, order-sensitive or as a multiset.
#[derive(Debug)]
pub struct RowDigest {
    ordered: bool,
    rows: u64,
    running: Sha256,
    row_hashes: Vec<[u8; 32]>,
}

impl RowDigest {
    /// A digest that respects row order when `ordered`.
    pub fn new(ordered: bool) -> Self {
        RowDigest {
            ordered,
            rows: 0,
            running: Sha256::new(),
            row_hashes: Vec::new(),
        }
    }

    fn add_row<'a>(&mut self, cols: impl Iterator<Item = Option<&'a [u8]>>) {
        let mut h = Sha256::new();
        for c in cols {
            match c {
                Some(b) => {
                    h.update([1u8]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
                None => h.update([0u8]),
            }
        }
        let row: [u8; 32] = h.finalize().into();
        self.rows += 1;
        if self.ordered {
            self.running.update(row);
        } else {
            self.row_hashes.push(row);
        }
    }

    /// The final digest.
    pub fn finish(mut self) -> ResultDigest {
        if !self.ordered {
            self.row_hashes.sort_unstable();
            for r in &self.row_hashes {
                self.running.update(r);
            }
        }
        ResultDigest {
            rows: self.rows,
            hash: hex::encode(self.running.finalize()),
            ordered: self.ordered,
        }
    }
}

/// Everything needed to execute a variant once, prepared ahead of the samples.
#[derive(Clone)]
pub struct Execution {
    protocol: Protocol,
    sql: Vec<String>,
    prepared: Vec<Statement>,
    /// One parameter list per repetition (one for a plain variant, N for `for_each`).
    param_sets: Vec<Vec<TextParam>>,
    repeat_until_zero: bool,
}

/// Error from executing the statement at `index` in the variant's list.
#[derive(Debug)]
pub struct ExecError {
    /// Which statement failed (0-based).
    pub index: usize,
    /// The driver error.
    pub source: tokio_postgres::Error,
}

impl Execution {
    /// Prepares the statements (prepared protocol) and checks the parameter counts.
    pub async fn new(
        client: &Client,
        protocol: Protocol,
        sql: Vec<String>,
        param_sets: Vec<Vec<TextParam>>,
        repeat_until_zero: bool,
    ) -> Result<Execution, PrepareError> {
        let mut prepared = Vec::new();
        let nparams = param_sets.first().map(Vec::len).unwrap_or(0);
        for (index, s) in sql.iter().enumerate() {
            let st = client
                .prepare(s)
                .await
                .map_err(|e| PrepareError::Sql { index, source: e })?;
            if st.params().len() != nparams {
                return Err(PrepareError::ParamCount {
                    index,
                    expected: st.params().len(),
                    given: nparams,
                });
            }
            if protocol == Protocol::Prepared {
                prepared.push(st);
            }
        }
        Ok(Execution {
            protocol,
            sql,
            prepared,
            param_sets,
            repeat_until_zero,
        })
    }

    /// The parameter lists, one per repetition.
    pub fn param_sets(&self) -> &[Vec<TextParam>] {
        &self.param_sets
    }

    /// Statements in one repetition.
    pub fn statements_per_repetition(&self) -> usize {
        self.sql.len()
    }

    /// Number of statement executions per sample (before `repeat_until_zero` loops).
    pub fn executions_per_sample(&self) -> u32 {
        (self.param_sets.len().max(1) * self.sql.len()) as u32
    }

    /// Runs once, fetching every row; feeds rows to `digest` when given.
    pub async fn run(
        &self,
        client: &Client,
        mut digest: Option<&mut RowDigest>,
    ) -> Result<(), ExecError> {
        loop {
            let mut last_affected = 0u64;
            for params in &self.param_sets {
                for (index, _) in self.sql.iter().enumerate() {
                    last_affected = self
                        .run_one(client, index, params, digest.as_deref_mut())
                        .await
                        .map_err(|source| ExecError { index, source })?;
                }
            }
            if !self.repeat_until_zero || last_affected == 0 {
                return Ok(());
            }
        }
    }

    /// Runs statement `index` with `params`; returns rows returned or affected.
    async fn run_one(
        &self,
        client: &Client,
        index: usize,
        params: &[TextParam],
        digest: Option<&mut RowDigest>,
    ) -> Result<u64, tokio_postgres::Error> {
        match self.protocol {
            Protocol::Prepared => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                let st = &self.prepared[index];
                if st.columns().is_empty() {
                    return client.execute(st, &refs).await;
                }
                let rows = client.query(st, &refs).await?;
                if let Some(d) = digest {
                    for row in &rows {
                        d.add_row((0..row.len()).map(|i| row.get::<_, Raw<'_>>(i).0));
                    }
                }
                Ok(rows.len() as u64)
            }
            Protocol::Simple => {
                let sql = inline_params(&self.sql[index], params);
                let msgs = client.simple_query(&sql).await?;
                let mut affected = 0;
                let mut d = digest;
                for m in &msgs {
                    match m {
                        SimpleQueryMessage::Row(r) => {
                            if let Some(d) = d.as_deref_mut() {
                                d.add_row((0..r.len()).map(|i| r.get(i).map(str::as_bytes)));
                            }
                        }
                        SimpleQueryMessage::CommandComplete(n) => affected = *n,
                        _ => {}
                    }
                }
                Ok(affected)
            }
        }
    }

    /// The statements as EXPLAIN would run them: (sql, params) for every execution of
    /// one sample, the repeat loop counted once.
    pub fn explain_units(&self) -> Vec<(String, &[TextParam])> {
        let mut out = Vec::new();
        for params in &self.param_sets {
            for s in &self.sql {
                out.push((s.clone(), params.as_slice()));
            }
        }
        out
    }
}

/// Why a variant's statement could not be prepared.
#[derive(Debug)]
pub enum PrepareError {
    /// The server rejected the SQL.
    Sql {
        /// Statement index.
        index: usize,
        /// Driver error.
        source: tokio_postgres::Error,
    },
    /// `$n` count differs from the parameters bound.
    ParamCount {
        /// Statement index.
        index: usize,
        /// Parameters the statement uses.
        expected: usize,
        /// Parameters the variant binds.
        given: usize,
    },
}

/// Replaces `$n` placeholders outside quotes, comments and dollar-quoted strings with
/// quoted literals (for the simple protocol, which has no parameters).
pub fn inline_params(sql: &str, params: &[TextParam]) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let skip_to = |start: usize, end_pat: &str| -> usize {
            sql[start..]
                .find(end_pat)
                .map(|p| start + p + end_pat.len())
                .unwrap_or(b.len())
        };
        let next = match c {
            b'\'' => skip_to(i + 1, "'"),
            b'"' => skip_to(i + 1, "\""),
            b'-' if b.get(i + 1) == Some(&b'-') => skip_to(i, "\n"),
            b'/' if b.get(i + 1) == Some(&b'*') => skip_to(i + 2, "*/"),
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let n: usize = sql[i + 1..j].parse().unwrap_or(0);
                match params.get(n.wrapping_sub(1)) {
                    Some(TextParam(Some(v))) => {
                        out.push_str(&format!("'{}'", v.replace('\'', "''")))
                    }
                    Some(TextParam(None)) => out.push_str("NULL"),
                    None => out.push_str(&sql[i..j]),
                }
                i = j;
                continue;
            }
            b'$' => {
                // Dollar quote $tag$...$tag$ (tag may be empty).
                let tag_end = sql[i + 1..]
                    .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .map(|p| i + 1 + p);
                match tag_end {
                    Some(e) if b[e] == b'$' => {
                        let tag = &sql[i..=e];
                        skip_to(e + 1, tag)
                    }
                    _ => i + 1,
                }
            }
            _ => {
                let ch = sql[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
                continue;
            }
        };
        out.push_str(&sql[i..next]);
        i = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &str) -> TextParam {
        TextParam(Some(v.to_string()))
    }

    #[test]
    fn inlines_outside_quotes_only() {
        let sql = "SELECT '$1', \"$1\", $1, $2 -- $1\n, $$ $1 $$, $10";
        let out = inline_params(sql, &[p("a'b"), TextParam(None)]);
        assert_eq!(
            out,
            "SELECT '$1', \"$1\", 'a''b', NULL -- $1\n, $$ $1 $$, $10"
        );
    }

    #[test]
    fn digest_order_sensitivity() {
        let rows = [[Some(&b"1"[..])], [Some(&b"2"[..])]];
        let digest = |ordered: bool, rev: bool| {
            let mut d = RowDigest::new(ordered);
            let mut it: Vec<_> = rows.iter().collect();
            if rev {
                it.reverse();
            }
            for r in it {
                d.add_row(r.iter().copied());
            }
            d.finish()
        };
        assert_ne!(digest(true, false).hash, digest(true, true).hash);
        assert_eq!(digest(false, false).hash, digest(false, true).hash);
        assert_eq!(digest(false, false).rows, 2);
        let mut n = RowDigest::new(true);
        n.add_row([None].into_iter());
        let mut e = RowDigest::new(true);
        e.add_row([Some(&b""[..])].into_iter());
        assert_ne!(n.finish().hash, e.finish().hash, "NULL differs from ''");
    }
}
