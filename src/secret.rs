//! Keeping passwords out of every output.
//!
//! querylab never prints, logs or stores a connection URL as given: it shows the
//! redacted form from [`redact_url`]. tokio-postgres' `Config` already hides the
//! password in `Debug`.

/// Replaces the password of a `postgres://user:password@host/db` URL (and any
/// `password=` query parameter) with `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map(|i| rest_start + i)
            .unwrap_or(out.len());
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let at = rest_start + at;
            if let Some(colon) = out[rest_start..at].find(':') {
                let colon = rest_start + colon;
                out.replace_range(colon + 1..at, "***");
            }
        }
    }
    // key=value forms: password=... in a query string, or a libpq keyword string
    // where spaces may surround `=` and a value may be single-quoted (with `\'`
    // and `\\` escapes) and hold spaces.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("password") {
        let after_key = &rest[i + "password".len()..];
        let trimmed = after_key.trim_start();
        let Some(value) = trimmed.strip_prefix('=') else {
            result.push_str(&rest[..i + "password".len()]);
            rest = after_key;
            continue;
        };
        let value = value.trim_start();
        let head = rest.len() - value.len();
        result.push_str(&rest[..head]);
        result.push_str("***");
        rest = &value[value_len(value)..];
    }
    result.push_str(rest);
    result
}

/// Length of a keyword value at the start of `s`: a single-quoted string (to its
/// closing quote), else up to the next space or `&`.
fn value_len(s: &str) -> usize {
    if let Some(quoted) = s.strip_prefix('\'') {
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => return i + 2,
                _ => {}
            }
        }
        return s.len();
    }
    s.find([' ', '&', '\t', '\n']).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn hides_url_password() {
        assert_eq!(
            redact_url("postgres://bob:s3cr:et@db.example:5432/app?sslmode=disable"),
            "postgres://bob:***@db.example:5432/app?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://bob@h/db"), "postgres://bob@h/db");
        assert_eq!(
            redact_url("host=h user=u password=hunter2 dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=x&a=b"),
            "postgres://h/db?user=u&password=***&a=b"
        );
        // Keyword strings: spaces around `=`, quoted values with spaces and escapes.
        assert_eq!(
            redact_url("host=h password = 'se cr\\'et' dbname=d"),
            "host=h password = *** dbname=d"
        );
        assert_eq!(redact_url("password='open quote"), "password=***");
        assert_eq!(redact_url("passwordless=1 user=u"), "passwordless=1 user=u");
    }
}

#[cfg(test)]
mod debug_tests {
    use crate::provision::ProvisionConfig;

    #[test]
    fn provision_config_debug_hides_the_password() {
        let c = ProvisionConfig {
            database_url: Some("postgres://u:hunter2@h/db".into()),
            ..ProvisionConfig::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("u:***@h"), "{shown}");
    }
}
