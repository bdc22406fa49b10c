//! querylab's integration tests, one module per concern, in one test binary.
//!
//! One binary instead of one per file: each test binary links the whole dependency
//! graph (testcontainers, tokio, criterion…), and twenty of them spent minutes of a
//! cold CI run in the linker. Run one concern with `cargo test --profile ci --test it
//! -- NAME::` (for example `-- check_db::`).
//!
//! Every test that touches a database runs against a real PostgreSQL (see
//! [`common`]).

mod common;
mod report_fixture;

mod advise;
mod catalog;
mod check;
mod check_db;
mod ci_baseline;
mod disk_space;
mod docker;
mod docker_cli;
mod faults;
mod generate;
mod interrupts;
mod layouts;
mod load;
mod other_databases;
mod provision_local;
mod provision_url;
mod report;
mod report_browser;
mod scenario_db_errors;
mod scenario_errors;
mod schema;
mod secrets;
mod timeouts;
mod workload;
