//! The HTML report in a real browser: headless Chromium opens the file from
//! `file://`, must log nothing to the console, must parse every comparison section
//! with its chart, and takes a screenshot for people to look at.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`); without it the test
//! fails and says so, unless `QUERYLAB_SKIP_BROWSER=1` asks to skip it.
//! `QUERYLAB_CHROMIUM` may name another Chromium or Chrome binary.

use crate::report_fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use querylab::report::write_reports;
use querylab::results::RunResults;

/// Longest a single browser invocation may take before the test gives up on it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// The browser to use, or `None` when the test should be skipped.
fn browser() -> Option<PathBuf> {
    if std::env::var("QUERYLAB_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("report browser test skipped: QUERYLAB_SKIP_BROWSER=1");
        return None;
    }
    if let Ok(p) = std::env::var("QUERYLAB_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    panic!(
        "headless Chromium is needed for the report browser test and was not found on PATH: \
         install it with `apt-get update && apt-get install -y chromium` (Debian/Ubuntu), or set \
         QUERYLAB_CHROMIUM=/path/to/chromium; set QUERYLAB_SKIP_BROWSER=1 to skip this test"
    );
}

/// Runs the browser headless on `url` with a fresh profile, killing it on timeout.
fn run_browser(exe: &Path, extra: &[String], url: &str) -> Output {
    let profile = tempfile::tempdir().expect("temp profile dir");
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
    // Drain the pipes on threads so a chatty browser cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).ok();
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).ok();
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the browser") {
            break s;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "{} did not finish within {BROWSER_TIMEOUT:?}",
                exe.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// `file://` URL of an absolute path, with the few characters a URL cannot carry
/// raw percent-encoded.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for c in path.display().to_string().chars() {
        match c {
            ' ' => url.push_str("%20"),
            '#' => url.push_str("%23"),
            '?' => url.push_str("%3F"),
            '%' => url.push_str("%25"),
            c => url.push(c),
        }
    }
    url
}

/// Opens `index.html` in `dir`: no console message, every comparison section
/// parsed with an inline chart, no element a planted name could have injected.
/// Returns the screenshot path.
fn check_in_browser(exe: &Path, dir: &Path, sections: usize, shot: &str) -> PathBuf {
    let page = dir.join("index.html");
    let url = file_url(&page.canonicalize().expect("report path"));
    let out = run_browser(
        exe,
        &[
            "--enable-logging=stderr".into(),
            "--v=0".into(),
            "--dump-dom".into(),
        ],
        &url,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser failed: {}\n{stderr}",
        out.status
    );
    // The page has no JavaScript, so any console line (a script error, a blocked
    // load, a CSP violation) means something got into the page that should not.
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("</html>"), "no DOM dumped:\n{stderr}");
    let parsed: Vec<&str> = dom.split("<section class=\"comparison\"").skip(1).collect();
    assert_eq!(
        parsed.len(),
        sections,
        "comparison sections in the parsed page"
    );
    for s in &parsed {
        let body = s.split("</section>").next().unwrap_or("");
        let id = body.split('"').nth(1).unwrap_or("?");
        assert!(
            body.contains("<svg"),
            "comparison section {id} has no chart"
        );
    }
    let lower = dom.to_lowercase();
    for tag in ["<img", "<script", "<iframe", "<object", "<link"] {
        assert!(!lower.contains(tag), "the parsed page has a {tag} element");
    }
    let png = dir.join(shot);
    let out = run_browser(
        exe,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,4000".into(),
        ],
        &url,
    );
    assert!(
        out.status.success(),
        "screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000,
        "screenshot looks empty"
    );
    png
}

/// Where the pages and screenshots are kept for people (and CI artifacts) to see.
fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("output dir");
    dir
}

fn comparisons(runs: &[RunResults]) -> usize {
    runs.iter()
        .flat_map(|r| &r.datasets)
        .map(|d| d.comparisons.len())
        .sum()
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(exe) = browser() else { return };
    let mut run = report_fixture::scaling_run();
    // A hostile name rides along: the parsed DOM must show it as text, not markup.
    run.datasets[0].comparisons[2].title = "</SCRIPT><img src=x onerror=alert(1)> `a|b`".into();
    let dir = out_dir("report_browser");
    write_reports(std::slice::from_ref(&run), &dir).expect("writing the report");
    let shot = check_in_browser(&exe, &dir, comparisons(&[run]), "screenshot.png");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn run_against_run_renders_in_headless_chromium() {
    let Some(exe) = browser() else { return };
    let base = report_fixture::run(&[("pg15-local", "15.8")], &[1_000_000]);
    let mut new = base.clone();
    let v = &mut new.datasets[0].comparisons[0].variants[1];
    v.samples_ns.iter_mut().for_each(|s| *s *= 2);
    v.stats = report_fixture::quick_stats(&v.samples_ns);
    let dir = out_dir("report_browser_diff");
    write_reports(&[base, new.clone()], &dir).expect("writing the report");
    // Change sections for every comparison, then the new run in full.
    let sections = 2 * comparisons(std::slice::from_ref(&new));
    let shot = check_in_browser(&exe, &dir, sections, "screenshot.png");
    eprintln!("screenshot: {}", shot.display());
}
