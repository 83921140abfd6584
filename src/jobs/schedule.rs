//! Job schedules: `daily HH:MM` or a five-field cron expression
//! (`minute hour day-of-month month day-of-week`, with `*`, lists, ranges and
//! `/steps`), evaluated in an IANA time zone. Parsed by hand and strictly, since
//! admins type them: anything unexpected is an error that says what is wrong.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

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

/// Each field as a bit set of the values it allows.
#[derive(Clone, Debug, PartialEq)]
struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    /// Whether day-of-month and day-of-week were both restricted (cron then
    /// accepts a day matching either, as Vixie cron does).
    days_or: bool,
}

/// Longest schedule text accepted (`cron` with five fields fits many times over).
pub const MAX_SCHEDULE_CHARS: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("schedule must be `daily HH:MM` or `cron MIN HOUR DOM MON DOW`, got {0:?}")]
    Form(String),
    #[error("time must be HH:MM from 00:00 to 23:59, got {0:?}")]
    Time(String),
    #[error("cron field {field} ({range}) cannot be {value:?}")]
    Field {
        field: &'static str,
        range: &'static str,
        value: String,
    },
    #[error("unknown time zone {0:?}: use an IANA name such as Asia/Seoul or UTC")]
    Zone(String),
    #[error("this cron expression never fires")]
    Never,
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
        if t.chars().count() > MAX_SCHEDULE_CHARS {
            return Err(ScheduleError::Form(short()));
        }
        let (word, rest) = t
            .split_once(char::is_whitespace)
            .ok_or_else(|| ScheduleError::Form(short()))?;
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
            "cron" => Kind::Cron(Box::new(Cron::parse(rest)?)),
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
        let local = after.with_timezone(&self.tz).naive_local();
        // Start at the next whole minute after `after`.
        let start = local
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))?
            .checked_add_signed(Duration::minutes(1))?;
        match &self.kind {
            Kind::Daily { hour, minute } => {
                let at = NaiveTime::from_hms_opt(*hour, *minute, 0)?;
                (0..=2).find_map(|d| {
                    let day = start.date().checked_add_signed(Duration::days(d))?;
                    let when = day.and_time(at);
                    (when >= start).then(|| self.resolve(when)).flatten()
                })
            }
            Kind::Cron(c) => {
                // Walk day by day (at most ~4 years), then minute by minute within a
                // matching day: cheap, and obviously right.
                let mut day: NaiveDate = start.date();
                for _ in 0..(366 * 4 + 1) {
                    if c.day_matches(day) {
                        for h in 0..24u32 {
                            if c.hours & (1 << h) == 0 {
                                continue;
                            }
                            for m in 0..60u32 {
                                if c.minutes & (1 << m) == 0 {
                                    continue;
                                }
                                let when = day.and_hms_opt(h, m, 0)?;
                                if when >= start
                                    && let Some(utc) = self.resolve(when)
                                {
                                    return Some(utc);
                                }
                            }
                        }
                    }
                    day = day.succ_opt()?;
                }
                None
            }
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

impl Cron {
    fn parse(s: &str) -> Result<Self, ScheduleError> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        let [min, hour, dom, mon, dow] = fields[..] else {
            return Err(ScheduleError::Form(
                format!("cron {}", s.trim()).chars().take(80).collect(),
            ));
        };
        let minutes = field(min, "minute", "0-59", 0, 59)?;
        let hours = field(hour, "hour", "0-23", 0, 23)? as u32;
        let days = field(dom, "day of month", "1-31", 1, 31)? as u32;
        let months = field(mon, "month", "1-12", 1, 12)? as u16;
        // 7 is Sunday too.
        let mut weekdays = field(dow, "day of week", "0-7", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Self {
            minutes,
            hours,
            days,
            months,
            weekdays: weekdays as u8,
            days_or: dom != "*" && dow != "*",
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().num_days_from_sunday()) != 0;
        if self.days_or { dom || dow } else { dom && dow }
    }
}

/// One cron field as a bit set over `lo..=hi`.
fn field(
    s: &str,
    name: &'static str,
    range: &'static str,
    lo: u32,
    hi: u32,
) -> Result<u64, ScheduleError> {
    let bad = || ScheduleError::Field {
        field: name,
        range,
        value: s.chars().take(40).collect(),
    };
    let num = |t: &str| -> Result<u32, ScheduleError> {
        if t.is_empty() || t.len() > 2 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<u32>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(bad)
    };
    let mut bits = 0u64;
    for part in s.split(',') {
        let (span, step) = match part.split_once('/') {
            Some((span, step)) => {
                let step = num_any(step)
                    .filter(|v| *v >= 1 && *v <= hi.max(1))
                    .ok_or_else(bad)?;
                (span, step)
            }
            None => (part, 1),
        };
        let (from, to) = match span {
            "*" => (lo, hi),
            _ => match span.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(bad());
                    }
                    (a, b)
                }
                // `5/15` means from 5 to the end, every 15.
                None if step > 1 => (num(span)?, hi),
                None => {
                    let v = num(span)?;
                    (v, v)
                }
            },
        };
        let mut v = from;
        while v <= to {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn num_any(t: &str) -> Option<u32> {
    (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
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
    fn daylight_saving_gaps_are_skipped_not_crashed_on() {
        // 2026-03-08 02:30 does not exist in New York.
        let s = Schedule::parse("daily 02:30", Some("America/New_York")).unwrap();
        let next = s.next_after(at("2026-03-08T05:00:00Z")).unwrap();
        assert_eq!(next, at("2026-03-09T06:30:00Z"));
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
