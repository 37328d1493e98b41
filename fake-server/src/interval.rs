//! Parses the intervals users write for `expires_in`, such as "30 days" or
//! "1 day 12 hours", into a duration.

use chrono::TimeDelta;

use crate::error::quote;

/// An example shown in every parse error, so users see a form that works.
pub const EXAMPLE: &str = "\"30 days\", \"12 hours\" or \"1 day 12 hours\"";

/// Parses `text` as one or more `<count> <unit>` pairs; the result must be positive.
pub fn parse(text: &str) -> Result<TimeDelta, String> {
    let invalid = || {
        format!(
            "invalid interval \"{}\": use a form such as {EXAMPLE}",
            quote(text)
        )
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let mut total = TimeDelta::zero();
    for pair in words.chunks(2) {
        let count: i64 = pair[0].parse().map_err(|_| invalid())?;
        let unit = unit_seconds(&pair[1].to_ascii_lowercase()).ok_or_else(invalid)?;
        let seconds = count.checked_mul(unit).ok_or_else(invalid)?;
        let part = TimeDelta::try_seconds(seconds).ok_or_else(invalid)?;
        total = total.checked_add(&part).ok_or_else(invalid)?;
    }
    if total <= TimeDelta::zero() {
        return Err(format!(
            "interval \"{}\" is not positive: use a form such as {EXAMPLE}",
            quote(text)
        ));
    }
    Ok(total)
}

fn unit_seconds(unit: &str) -> Option<i64> {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    Some(match unit {
        "second" | "seconds" | "sec" | "secs" => 1,
        "minute" | "minutes" | "min" | "mins" => MINUTE,
        "hour" | "hours" | "hr" | "hrs" => HOUR,
        "day" | "days" => DAY,
        "week" | "weeks" => 7 * DAY,
        // Calendar months and years vary; a fixed length keeps expiry simple.
        "month" | "months" => 30 * DAY,
        "year" | "years" => 365 * DAY,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_forms_users_write() {
        let day = TimeDelta::days(1);
        for (text, expected) in [
            ("30 days", day * 30),
            ("1 day", day),
            ("10 minutes", TimeDelta::minutes(10)),
            ("1 year", day * 365),
            ("2 weeks", day * 14),
            ("1 day 12 hours", day + TimeDelta::hours(12)),
            ("  3 HOURS ", TimeDelta::hours(3)),
            ("1 Minute", TimeDelta::minutes(1)),
            ("45 seconds", TimeDelta::seconds(45)),
        ] {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_anything_else_with_an_example() {
        for text in [
            "",
            "30",
            "days",
            "thirty days",
            "30 fortnights",
            "1.5 days",
            "30days",
            "0 days",
            "-1 day",
            "1 day -2 days",
            "99999999999999999 years",
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains("30 days"), "{text}: {err}");
        }
    }
}
