//! Intervals as people write them for `expires_in` ("30 days", "1 day 12
//! hours"), read into a duration where the client needs one itself, such
//! as a rotation's overlap window.

use chrono::TimeDelta;

use crate::Error;

/// Reads one or more `<count> <unit>` pairs (second, minute, hour, day,
/// week; a month is 30 days, a year 365) into a positive duration.
///
/// ```
/// use h2ogpte_api_keys::chrono::TimeDelta;
/// assert_eq!(
///     h2ogpte_api_keys::parse_interval("1 week 2 days").unwrap(),
///     TimeDelta::days(9)
/// );
/// assert!(h2ogpte_api_keys::parse_interval("soon").is_err());
/// ```
pub fn parse_interval(text: &str) -> Result<TimeDelta, Error> {
    let invalid = || {
        Error::invalid_request(format!(
            "{text:?} is not an interval: use a count and a unit, such as \"7 days\" or \"1 day 12 hours\""
        ))
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let mut total = TimeDelta::zero();
    for pair in words.chunks(2) {
        let count: i64 = pair[0].parse().map_err(|_| invalid())?;
        let unit = unit_seconds(&pair[1].to_ascii_lowercase()).ok_or_else(invalid)?;
        let part = count
            .checked_mul(unit)
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(invalid)?;
        total = total.checked_add(&part).ok_or_else(invalid)?;
    }
    if total <= TimeDelta::zero() {
        return Err(invalid());
    }
    Ok(total)
}

/// Seconds in one of a unit, singular or plural.
fn unit_seconds(unit: &str) -> Option<i64> {
    const DAY: i64 = 86_400;
    Some(match unit.strip_suffix('s').unwrap_or(unit) {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" | "hr" => 3_600,
        "day" => DAY,
        "week" => 7 * DAY,
        "month" => 30 * DAY,
        "year" => 365 * DAY,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_add_up_and_nonsense_is_refused() {
        assert_eq!(parse_interval("7 days").ok(), Some(TimeDelta::days(7)));
        assert_eq!(
            parse_interval("1 Day 12 hours").ok(),
            Some(TimeDelta::hours(36))
        );
        assert_eq!(parse_interval("30 mins").ok(), Some(TimeDelta::minutes(30)));
        for bad in [
            "",
            "7",
            "days",
            "7 fortnights",
            "0 days",
            "-1 day",
            "99999999999999 years",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
    }
}
