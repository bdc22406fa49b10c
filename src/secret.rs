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
    // key=value forms: password=... in a query string or a libpq keyword string.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("password=") {
        result.push_str(&rest[..i + "password=".len()]);
        rest = &rest[i + "password=".len()..];
        let end = rest.find(['&', ' ']).unwrap_or(rest.len());
        result.push_str("***");
        rest = &rest[end..];
    }
    result.push_str(rest);
    result
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
    }
}
