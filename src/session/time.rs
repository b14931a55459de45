//! Event timestamps: UTC, written as RFC 3339 with milliseconds
//! (`2026-11-26T23:11:57.969Z`), compared and filtered as times.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// A point in time, at millisecond precision, always UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Now, cut to whole milliseconds (what the log can hold).
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(t: OffsetDateTime) -> Timestamp {
        let t = t.to_offset(UtcOffset::UTC);
        let ms = t.millisecond();
        Timestamp(
            t.replace_millisecond(ms)
                .expect("a millisecond from a time is valid"),
        )
    }

    /// Any RFC 3339 time (other offsets are converted to UTC).
    pub fn parse(s: &str) -> Result<Timestamp, String> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Timestamp::from_datetime)
            .map_err(|e| format!("{s:?} is not an RFC 3339 time (e.g. 2026-11-26T21:00:00Z): {e}"))
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn ms_since(self, earlier: Timestamp) -> i64 {
        self.unix_ms() - earlier.unix_ms()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_log_format() {
        let s = "2026-11-26T23:11:57.969Z";
        let t = Timestamp::parse(s).unwrap();
        assert_eq!(t.to_string(), s);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn other_offsets_become_utc_and_order_as_times() {
        let a = Timestamp::parse("2026-11-27T01:00:00+02:00").unwrap();
        assert_eq!(a.to_string(), "2026-11-26T23:00:00.000Z");
        let b = Timestamp::parse("2026-11-26T23:00:00.5Z").unwrap();
        assert!(a < b);
        assert_eq!(b.ms_since(a), 500);
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn now_has_whole_milliseconds() {
        let t = Timestamp::now();
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }
}
