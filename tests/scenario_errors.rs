//! Bad scenario files: every mistake is one precise `file:line:column: what` error,
//! and no input, however mangled, makes the parser panic.

use crate::common;

use std::path::{Path, PathBuf};

use querylab::Error;
use querylab::catalog;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn corpus() -> Vec<PathBuf> {
    common::scenario_corpus("bad")
}

#[test]
fn each_bad_file_gets_its_position_and_message() {
    let files = corpus();
    assert!(files.len() >= 10, "corpus too small: {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let want = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks an '# expect: ' first line", path.display()));
        let err = catalog::load_file(&path)
            .err()
            .unwrap_or_else(|| panic!("{} parsed without error", path.display()));
        assert!(
            matches!(err, Error::Scenario { .. }),
            "{}: not a positioned error: {err}",
            path.display()
        );
        let msg = err.to_string();
        assert!(
            msg.contains(want),
            "{}:\n  want …{want}…\n  got  {msg}",
            path.display()
        );
        assert_eq!(msg.lines().count(), 1, "one line: {msg}");
    }
}

#[test]
fn mangled_scenarios_never_panic() {
    let mut inputs: Vec<String> = catalog::builtin_names()
        .iter()
        .map(|n| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/scenarios/{n}.toml")),
            )
            .unwrap()
        })
        .collect();
    inputs.extend(corpus().iter().map(|p| std::fs::read_to_string(p).unwrap()));
    // Valid and server-failing scenarios too: mutations of good files reach deeper.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    for dir in [root.clone(), root.join("bad_db")] {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "toml") {
                inputs.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let alphabet = b"[]{}=\"'#\n .,:abc0123$_\\";
    for i in 0..3000 {
        let base = inputs[i % inputs.len()].as_bytes();
        let mut bytes = base.to_vec();
        for _ in 0..rng.random_range(1..6) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[at] = alphabet[rng.random_range(0..alphabet.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        // With the corpus dir as base, so that file references resolve (or fail
        // with a position) instead of all stopping at the first missing file.
        match catalog::parse(&text, "fuzz.toml", Some(&root.join("bad_db"))) {
            Ok(_) => {}
            Err(Error::Scenario { line, column, .. }) => assert!(line >= 1 && column >= 1),
            Err(other) => panic!("mutation {i}: unpositioned error {other}"),
        }
    }
}
