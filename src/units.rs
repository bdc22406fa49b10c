//! Human units for numbers: durations, counts, sizes, ratios and percentages.
//!
//! Results store nanoseconds and bytes; people read `4.21 ms` and `12 MiB`. This is
//! the one place that decides the precision, so a median prints the same in the
//! terminal table of `querylab run`, the `querylab check` table and Markdown, the
//! HTML report, its charts and the error messages. It depends on nothing else in
//! the crate, so every stage can use it.

/// A time unit chosen for a set of values (a table column or a chart axis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Nanoseconds.
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
}

impl TimeUnit {
    /// The largest unit in which `ns` is at least 1.
    pub fn for_ns(ns: f64) -> Self {
        let a = ns.abs();
        if a >= 1e9 {
            TimeUnit::S
        } else if a >= 1e6 {
            TimeUnit::Ms
        } else if a >= 1e3 {
            TimeUnit::Us
        } else {
            TimeUnit::Ns
        }
    }

    /// Nanoseconds in one of this unit.
    pub fn ns(self) -> f64 {
        match self {
            TimeUnit::Ns => 1.0,
            TimeUnit::Us => 1e3,
            TimeUnit::Ms => 1e6,
            TimeUnit::S => 1e9,
        }
    }

    /// Symbol shown after numbers and in axis titles.
    pub fn symbol(self) -> &'static str {
        match self {
            TimeUnit::Ns => "ns",
            TimeUnit::Us => "µs",
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
        }
    }
}

/// Three significant digits, without a trailing `.0`: `4.21`, `42.1`, `421`, `4210`.
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A duration in its own best unit: `850 ns`, `12.3 µs`, `4.21 ms`, `1.5 s`.
pub fn duration_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "–".into();
    }
    let unit = TimeUnit::for_ns(ns);
    format!("{} {}", sig3(ns / unit.ns()), unit.symbol())
}

/// A duration in seconds (load and build times).
pub fn seconds(s: f64) -> String {
    duration_ns(s * 1e9)
}

/// An integer with thousands separators: `1,000,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A row count in short form for headings and axes: `10k`, `1M`, `2.5M`.
pub fn rows_short(n: u64) -> String {
    let v = n as f64;
    if n >= 1_000_000_000 {
        format!("{}G", sig3(v / 1e9))
    } else if n >= 1_000_000 {
        format!("{}M", sig3(v / 1e6))
    } else if n >= 1_000 {
        format!("{}k", sig3(v / 1e3))
    } else {
        n.to_string()
    }
}

/// A size in binary units, as PostgreSQL's `pg_size_pretty` would think of it:
/// `512 B`, `22 MiB`, `1.5 GiB`.
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b} B")
    } else {
        format!("{} {}", sig3(v), UNITS[unit])
    }
}

/// A ratio as a multiplier: `38×`, `1.4×`, `63,286×`.
pub fn times(r: f64) -> String {
    if r.is_finite() && r >= 1000.0 {
        format!("{}×", count(r.round() as u64))
    } else {
        format!("{}×", sig3(r))
    }
}

/// A speed-up (reference / variant) as words: `38× faster`, `2.1× slower`, `same speed`.
pub fn speedup_words(speedup: f64) -> String {
    if !speedup.is_finite() || speedup <= 0.0 {
        "–".into()
    } else if (speedup - 1.0).abs() < 0.005 {
        "same speed".into()
    } else if speedup >= 1.0 {
        format!("{} faster", times(speedup))
    } else {
        format!("{} slower", times(1.0 / speedup))
    }
}

/// A change of median (new / base) as words: `1.52× slower`, `3× faster`.
pub fn change_words(ratio: f64) -> String {
    speedup_words(1.0 / ratio)
}

/// A ratio as a signed percentage change: 1.25 → `+25.0%`, 0.8 → `-20.0%`; from 3×
/// up as a factor (`×72.5`), which reads better than `+7150.0%`.
pub fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        "–".into()
    } else if ratio >= 3.0 {
        format!("×{ratio:.1}")
    } else {
        format!("{:+.1}%", (ratio - 1.0) * 100.0)
    }
}

/// A confidence level as a percentage label: 0.95 → `95%`, 0.975 → `97.5%`.
pub fn level(confidence: f64) -> String {
    let p = confidence * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration_ns(850.0), "850 ns");
        assert_eq!(duration_ns(12_345.0), "12.3 µs");
        assert_eq!(duration_ns(4_210_000.0), "4.21 ms");
        assert_eq!(duration_ns(1_500_000_000.0), "1.5 s");
        assert_eq!(duration_ns(2_000_000.0), "2 ms");
        assert_eq!(duration_ns(812.0), "812 ns");
        assert_eq!(duration_ns(1_234_000.0), "1.23 ms");
        assert_eq!(duration_ns(2.5e9), "2.5 s");
        assert_eq!(duration_ns(f64::NAN), "–");
    }

    #[test]
    fn counts_sizes_and_ratios() {
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(count(999), "999");
        assert_eq!(rows_short(10_000), "10k");
        assert_eq!(rows_short(2_500_000), "2.5M");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(22 * 1024 * 1024), "22 MiB");
        assert_eq!(speedup_words(38.2), "38.2× faster");
        assert_eq!(times(63_286.4), "63,286×");
        assert_eq!(speedup_words(0.5), "2× slower");
        assert_eq!(change_words(1.5), "1.5× slower");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(percent(0.75), "-25.0%");
        assert_eq!(percent(1.25), "+25.0%");
        assert_eq!(percent(72.49), "×72.5");
        assert_eq!(level(0.95), "95%");
        assert_eq!(level(0.975), "97.5%");
    }
}
