//! Job schedules: `daily HH:MM`, or a standard cron expression as admins type it
//! (`0 3 * * MON-FRI`, `@daily`, `*/15 9-17 * * 1-5`, `0 0 L * *`, `0 9 * * MON#1`;
//! optionally prefixed `cron `), evaluated in an IANA time zone.
//!
//! Cron expressions are parsed and evaluated by the maintained `croner` crate
//! (five fields, names, ranges, steps, `@` nicknames, `L`, `#`, `W`; day-of-month
//! and day-of-week OR-ed as Vixie cron does); seconds and years are refused, so
//! a schedule means what an admin reading crontab(5) expects. `daily HH:MM` stays
//! our own shorthand. Anything unexpected is an error that says what is wrong.

use std::fmt;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed schedule and the zone it is read in.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    kind: Kind,
    pub tz: Tz,
    /// The text it was parsed from, kept for display.
    text: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Daily { hour: u32, minute: u32 },
    Cron(Box<Cron>),
}

/// Longest schedule text accepted (`cron` with five fields fits many times over).
pub const MAX_SCHEDULE_CHARS: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error(
        "schedule must be `daily HH:MM` or a cron expression (`0 3 * * MON-FRI`, `@daily`), got {0:?}"
    )]
    Form(String),
    #[error("time must be HH:MM from 00:00 to 23:59, got {0:?}")]
    Time(String),
    #[error("bad cron expression {value:?}: {reason}")]
    Cron { value: String, reason: String },
    #[error("unknown time zone {0:?}: use an IANA name such as Asia/Seoul or UTC")]
    Zone(String),
    #[error("this cron expression never fires")]
    Never,
}

/// Five fields (or an `@` nickname), no seconds, no year.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

impl Schedule {
    /// Parses `text` in time zone `tz` (IANA name; `None` is UTC).
    pub fn parse(text: &str, tz: Option<&str>) -> Result<Self, ScheduleError> {
        let tz = match tz.map(str::trim) {
            None | Some("") => Tz::UTC,
            Some(name) if name.len() <= 64 => {
                name.parse().map_err(|_| ScheduleError::Zone(name.into()))?
            }
            Some(name) => return Err(ScheduleError::Zone(name.chars().take(64).collect())),
        };
        let t = text.trim();
        let short = || t.chars().take(80).collect::<String>();
        if t.is_empty() || t.chars().count() > MAX_SCHEDULE_CHARS {
            return Err(ScheduleError::Form(short()));
        }
        let (word, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        let kind = match word {
            "daily" => {
                let (h, m) = rest
                    .trim()
                    .split_once(':')
                    .ok_or_else(|| ScheduleError::Time(rest.trim().into()))?;
                let num = |s: &str, max: u32| {
                    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| s.parse::<u32>().ok())
                        .flatten()
                        .filter(|v| *v <= max)
                };
                match (num(h, 23), num(m, 59)) {
                    (Some(hour), Some(minute)) => Kind::Daily { hour, minute },
                    _ => return Err(ScheduleError::Time(rest.trim().chars().take(20).collect())),
                }
            }
            "cron" => Kind::Cron(Box::new(cron(rest)?)),
            // A bare expression starts with a field or a nickname; any other word
            // (`weekly 03:00`) is not a schedule we know.
            w if w.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '@') => {
                Kind::Cron(Box::new(cron(t)?))
            }
            _ => return Err(ScheduleError::Form(short())),
        };
        let s = Self {
            kind,
            tz,
            text: t.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        // A cron expression such as `0 0 31 2 *` parses but never fires.
        if s.next_after(Utc::now()).is_none() {
            return Err(ScheduleError::Never);
        }
        Ok(s)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first time strictly after `after` at which this schedule fires.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Daily { hour, minute } => {
                let local = after.with_timezone(&self.tz).naive_local();
                // Start at the next whole minute after `after`.
                let start = local
                    .with_second(0)
                    .and_then(|t| t.with_nanosecond(0))?
                    .checked_add_signed(Duration::minutes(1))?;
                let at = NaiveTime::from_hms_opt(*hour, *minute, 0)?;
                (0..=2).find_map(|d| {
                    let day = start.date().checked_add_signed(Duration::days(d))?;
                    let when = day.and_time(at);
                    (when >= start).then(|| self.resolve(when)).flatten()
                })
            }
            Kind::Cron(c) => c
                .find_next_occurrence(&after.with_timezone(&self.tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// A local wall-clock time as UTC: the earlier of two in a repeated hour, and
    /// none in a skipped one (a daylight-saving gap; the next match is used).
    fn resolve(&self, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.text, self.tz.name())
    }
}

/// A cron expression through `croner`, its refusal turned into ours.
fn cron(expr: &str) -> Result<Cron, ScheduleError> {
    let expr = expr.trim();
    parser().parse(expr).map_err(|e| ScheduleError::Cron {
        value: expr.chars().take(80).collect(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn daily_fires_at_its_local_time() {
        let s = Schedule::parse("daily 03:00", Some("Asia/Seoul")).unwrap();
        // 03:00 in Seoul is 18:00 UTC the day before.
        assert_eq!(
            s.next_after(at("2026-11-21T12:00:00Z")),
            Some(at("2026-11-21T18:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-11-21T18:00:00Z")),
            Some(at("2026-11-22T18:00:00Z"))
        );
        let utc = Schedule::parse("daily 23:59", None).unwrap();
        assert_eq!(
            utc.next_after(at("2026-11-21T23:58:30Z")),
            Some(at("2026-11-21T23:59:00Z"))
        );
    }

    #[test]
    fn cron_fields_lists_ranges_and_steps() {
        let s = Schedule::parse("cron */15 9-17 * * 1-5", None).unwrap();
        // Saturday 2026-11-21 -> Monday 09:00.
        assert_eq!(
            s.next_after(at("2026-11-21T10:00:00Z")),
            Some(at("2026-11-23T09:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-11-23T09:00:00Z")),
            Some(at("2026-11-23T09:15:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-11-23T17:45:00Z")),
            Some(at("2026-11-24T09:00:00Z"))
        );
        let sunday = Schedule::parse("cron 0 0 * * 7", None).unwrap();
        assert_eq!(
            sunday.next_after(at("2026-11-21T10:00:00Z")),
            Some(at("2026-11-22T00:00:00Z"))
        );
        let either = Schedule::parse("cron 0 12 1 * 1", None).unwrap();
        assert_eq!(
            either.next_after(at("2026-11-21T10:00:00Z")),
            Some(at("2026-11-23T12:00:00Z"))
        );
    }

    #[test]
    fn what_admins_type_is_understood() {
        // Saturday 2026-11-21 10:00 UTC.
        let now = at("2026-11-21T10:00:00Z");
        let cases = [
            ("0 3 * * MON-FRI", None, "2026-11-23T03:00:00Z"),
            ("cron 0 3 * * mon-fri", None, "2026-11-23T03:00:00Z"),
            ("@daily", None, "2026-11-22T00:00:00Z"),
            ("0 3 * * *", None, "2026-11-22T03:00:00Z"),
            ("0 0 L * *", None, "2026-11-30T00:00:00Z"),
            ("0 9 * * MON#1", None, "2026-12-07T09:00:00Z"),
            ("0 9 1 JAN *", None, "2027-01-01T09:00:00Z"),
            // In the store's zone: 03:00 Seoul on weekdays is 18:00 UTC the day before.
            (
                "0 3 * * MON-FRI",
                Some("Asia/Seoul"),
                "2026-11-22T18:00:00Z",
            ),
            ("@daily", Some("Asia/Seoul"), "2026-11-21T15:00:00Z"),
        ];
        for (text, tz, want) in cases {
            let s = Schedule::parse(text, tz).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(s.next_after(now), Some(at(want)), "{text} {tz:?}");
        }
        // Strictly after: a schedule due now fires next time.
        let s = Schedule::parse("0 0 L * *", None).unwrap();
        assert_eq!(
            s.next_after(at("2026-11-30T00:00:00Z")),
            Some(at("2026-12-31T00:00:00Z"))
        );
    }

    #[test]
    fn daylight_saving_gaps_are_skipped_not_crashed_on() {
        // 2026-03-08 02:30 does not exist in New York.
        let s = Schedule::parse("daily 02:30", Some("America/New_York")).unwrap();
        let next = s.next_after(at("2026-03-08T05:00:00Z")).unwrap();
        assert_eq!(next, at("2026-03-09T06:30:00Z"));
        let c = Schedule::parse("30 2 * * *", Some("America/New_York")).unwrap();
        let next = c.next_after(at("2026-03-08T05:00:00Z")).unwrap();
        assert!(next > at("2026-03-08T05:00:00Z") && next <= at("2026-03-09T06:30:00Z"));
    }

    #[test]
    fn malformed_schedules_say_what_is_wrong() {
        for (text, tz) in [
            ("daily", None),
            ("daily 24:00", None),
            ("daily 3:00", None),
            ("weekly 03:00", None),
            ("cron * * * *", None),
            ("cron 60 * * * *", None),
            ("cron */0 * * * *", None),
            ("cron 5-1 * * * *", None),
            ("cron a * * * *", None),
            ("cron 0 0 31 2 *", None),
            ("0 0 0 3 * *", None),
            ("0 3 * * * 2027", None),
            ("@fortnightly", None),
            ("0 3 * * FUNDAY", None),
            ("daily 03:00", Some("Mars/Olympus")),
            ("", None),
        ] {
            assert!(Schedule::parse(text, tz).is_err(), "{text:?} {tz:?}");
        }
        let padded = format!("cron 0{} 3 * * *", " ".repeat(MAX_SCHEDULE_CHARS));
        assert!(matches!(
            Schedule::parse(&padded, None),
            Err(ScheduleError::Form(_))
        ));
    }
}
