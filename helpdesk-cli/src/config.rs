//! Parsers for flag values: durations (`15m`, `30d`, `10s`), sizes (`25MiB`), proxy
//! CIDRs, the webhook retry schedule and free-mail domains.

use std::time::Duration;

/// A webhook retry schedule: the delays before each retry.
pub type Schedule = Vec<Duration>;

pub use helpdesk_core::clock::parse_duration;

/// Parses `25MiB`, `10MB`, `512KiB`, `1GiB` or plain bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 25MiB"))?;
    let mul: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "`{s}` has an unknown unit (B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    n.checked_mul(mul)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Parses a free-mail domain: a DNS name, lowercased (`""`: none, so that an empty
/// list can be given).
pub fn parse_free_mail_domain(s: &str) -> Result<String, String> {
    let d = s.trim().to_ascii_lowercase();
    if d.is_empty() || helpdesk_core::organization::is_dns_name(&d) {
        Ok(d)
    } else {
        Err(format!("`{s}` is not a domain like gmail.com"))
    }
}

/// Parses a CIDR, or a single address (a /32 or /128).
pub fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{s}` is not a CIDR like 10.0.0.0/8"))
}

/// Parses `5s,5m,30m,2h`.
pub fn parse_schedule(s: &str) -> Result<Schedule, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_duration)
        .collect()
}

/// An auto-reply limit: at most `count` per sender within `window` (`3/1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How many.
    pub count: usize,
    /// Within how long.
    pub window: Duration,
}

/// Parses `3/1h` (count per duration).
pub fn parse_rate(s: &str) -> Result<RateLimit, String> {
    let bad = || format!("`{s}` is not a limit like 3/1h");
    let (count, window) = s.trim().split_once('/').ok_or_else(bad)?;
    Ok(RateLimit {
        count: count.trim().parse().map_err(|_| bad())?,
        window: parse_duration(window.trim()).map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_sizes_and_proxies_parse() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5y").is_err());
        assert_eq!(parse_size("25MiB"), Ok(25 * 1024 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_proxy("10.0.0.0/8").is_ok());
        assert!(parse_proxy("127.0.0.1").is_ok());
        assert!(parse_proxy("nope").is_err());
        assert_eq!(
            parse_rate("3/1h"),
            Ok(RateLimit {
                count: 3,
                window: Duration::from_secs(3600)
            })
        );
        assert!(parse_rate("3").is_err());
        assert_eq!(parse_schedule("5s,5m").map(|s| s.len()), Ok(2));
        assert_eq!(
            parse_free_mail_domain(" Mail.Example "),
            Ok("mail.example".into())
        );
        assert_eq!(parse_free_mail_domain(""), Ok(String::new()));
        assert!(parse_free_mail_domain("not a domain").is_err());
    }
}
