//! Per-client rate limiting: a token bucket per client address, in a
//! bounded, sharded LRU table.
//!
//! Each client (an IPv4 address, or an IPv6 prefix of `ipv6_prefix` bits,
//! /64 by default, since one IPv6 host commonly owns a whole /64) gets a
//! bucket of `burst` tokens refilled at `requests_per_second`; a request
//! takes one token or is refused with the time until the next token. At
//! most `max_clients` buckets are kept: a new client evicts the least
//! recently seen one of its shard (an idle client's bucket is full anyway,
//! so forgetting it changes nothing for it).

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Instant;

use lru::LruCache;
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};

use crate::config::WafError;

/// A rate: tokens per second and bucket size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    /// Sustained requests per second per client (> 0, at most 1 000 000).
    pub requests_per_second: f64,
    /// Requests a client may send at once after being idle (1 to 1 000 000).
    pub burst: u32,
}

impl RateSpec {
    pub(crate) fn validate(&self, key: &str) -> Result<(), WafError> {
        let rps = self.requests_per_second;
        if !(rps.is_finite() && rps > 0.0 && rps <= 1e6) {
            return Err(WafError::Invalid {
                key: format!("{key}.requests_per_second"),
                reason: format!("{rps} is not in (0, 1000000]"),
            });
        }
        if !(1..=1_000_000).contains(&self.burst) {
            return Err(WafError::Invalid {
                key: format!("{key}.burst"),
                reason: format!("{} is not in 1-1000000", self.burst),
            });
        }
        Ok(())
    }
}

/// The `[rate_limit]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Apply `requests_per_second`/`burst` to every request (default off).
    /// Routes with their own `rate_limit` are limited whether or not this
    /// is on.
    pub enabled: bool,
    /// Sustained requests per second per client (default 50).
    pub requests_per_second: f64,
    /// Burst per client (default 100).
    pub burst: u32,
    /// Most clients tracked per limiter (default 100 000; the least
    /// recently seen is forgotten first).
    pub max_clients: usize,
    /// IPv6 clients are counted per prefix of this many bits (default 64;
    /// 128 counts every address apart).
    pub ipv6_prefix: u8,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: false,
            requests_per_second: 50.0,
            burst: 100,
            max_clients: 100_000,
            ipv6_prefix: 64,
        }
    }
}

impl RateLimitConfig {
    pub(crate) fn validate(&self) -> Result<(), WafError> {
        RateSpec {
            requests_per_second: self.requests_per_second,
            burst: self.burst,
        }
        .validate("rate_limit")?;
        if !(1..=100_000_000).contains(&self.max_clients) {
            return Err(WafError::Invalid {
                key: "rate_limit.max_clients".into(),
                reason: format!("{} is not in 1-100000000", self.max_clients),
            });
        }
        if !(32..=128).contains(&self.ipv6_prefix) {
            return Err(WafError::Invalid {
                key: "rate_limit.ipv6_prefix".into(),
                reason: format!("{} is not in 32-128", self.ipv6_prefix),
            });
        }
        Ok(())
    }
}

/// The outcome for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Under the rate.
    Yes,
    /// Over the rate: retry after this many seconds (at least 1). `first`
    /// when the client was admitted last time (the start of a limited run,
    /// audited once).
    No { retry_after: u64, first: bool },
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    limited: bool,
}

const SHARDS: usize = 16;

/// One token-bucket table.
pub(crate) struct Limiter {
    spec: RateSpec,
    ipv6_prefix: u8,
    hasher: std::collections::hash_map::RandomState,
    shards: Box<[Mutex<LruCache<IpAddr, Bucket, std::collections::hash_map::RandomState>>]>,
    evictions: Counter,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    pub(crate) fn new(
        spec: RateSpec,
        max_clients: usize,
        ipv6_prefix: u8,
        evictions: Counter,
    ) -> Limiter {
        let per_shard =
            NonZeroUsize::new(max_clients.div_ceil(SHARDS).max(1)).unwrap_or(NonZeroUsize::MIN);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(LruCache::with_hasher(
                    per_shard,
                    std::collections::hash_map::RandomState::new(),
                ))
            })
            .collect();
        Limiter {
            spec,
            ipv6_prefix,
            hasher: std::collections::hash_map::RandomState::new(),
            shards,
            evictions,
        }
    }

    /// The client key: IPv4 as is (IPv4-mapped IPv6 too), IPv6 cut to the
    /// prefix.
    fn key(&self, ip: IpAddr) -> IpAddr {
        match ip.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.ipv6_prefix))
                    .unwrap_or(0);
                IpAddr::V6((bits & mask).into())
            }
        }
    }

    /// Takes a token for `ip` at `now`.
    pub(crate) fn check(&self, ip: IpAddr, now: Instant) -> Admit {
        let key = self.key(ip);
        let shard = (self.hasher.hash_one(key) as usize) % SHARDS;
        let mut table = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        let burst = f64::from(self.spec.burst);
        let rate = self.spec.requests_per_second;
        let bucket = match table.get_mut(&key) {
            Some(b) => b,
            None => {
                let fresh = Bucket {
                    tokens: burst,
                    last: now,
                    limited: false,
                };
                if table.push(key, fresh).is_some() {
                    self.evictions.inc();
                }
                match table.get_mut(&key) {
                    Some(b) => b,
                    None => return Admit::Yes,
                }
            }
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.limited = false;
            Admit::Yes
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0);
            let first = !bucket.limited;
            bucket.limited = true;
            Admit::No {
                retry_after: wait.min(86_400.0) as u64,
                first,
            }
        }
    }

    /// Clients tracked now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

/// The limiters of one configuration: the default one (when enabled) and
/// one per route that has its own rate.
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    pub(crate) global: Option<Limiter>,
    /// Indexed like the WAF's routes.
    pub(crate) routes: Vec<Option<Limiter>>,
    /// What built them, to keep the buckets across a reload that changes
    /// nothing here.
    pub(crate) key: (RateLimitConfig, Vec<Option<RateSpec>>),
    any: bool,
}

impl RateLimits {
    pub(crate) fn new(
        cfg: &RateLimitConfig,
        routes: Vec<Option<RateSpec>>,
        evictions: &Counter,
    ) -> RateLimits {
        let global = cfg.enabled.then(|| {
            Limiter::new(
                RateSpec {
                    requests_per_second: cfg.requests_per_second,
                    burst: cfg.burst,
                },
                cfg.max_clients,
                cfg.ipv6_prefix,
                evictions.clone(),
            )
        });
        let limiters: Vec<Option<Limiter>> = routes
            .iter()
            .map(|r| {
                r.map(|spec| {
                    Limiter::new(spec, cfg.max_clients, cfg.ipv6_prefix, evictions.clone())
                })
            })
            .collect();
        let any = global.is_some() || limiters.iter().any(Option::is_some);
        RateLimits {
            global,
            routes: limiters,
            key: (cfg.clone(), routes),
            any,
        }
    }

    /// Whether any limiter exists.
    pub(crate) fn any(&self) -> bool {
        self.any
    }

    /// The limiter for a request on route `route` (index), if any.
    pub(crate) fn limiter(&self, route: Option<usize>) -> Option<&Limiter> {
        route
            .and_then(|i| self.routes.get(i))
            .and_then(Option::as_ref)
            .or(self.global.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec(rps: f64, burst: u32) -> RateSpec {
        RateSpec {
            requests_per_second: rps,
            burst,
        }
    }

    #[test]
    fn bucket_refills_at_the_rate() {
        let l = Limiter::new(spec(2.0, 3), 100, 64, Counter::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check(ip, t0), Admit::Yes);
        }
        assert_eq!(
            l.check(ip, t0),
            Admit::No {
                retry_after: 1,
                first: true
            }
        );
        assert_eq!(
            l.check(ip, t0),
            Admit::No {
                retry_after: 1,
                first: false
            }
        );
        // Half a second at 2/s is one token.
        assert_eq!(l.check(ip, t0 + Duration::from_millis(500)), Admit::Yes);
        assert!(matches!(
            l.check(ip, t0 + Duration::from_millis(500)),
            Admit::No { first: true, .. }
        ));
        // Another client is unaffected.
        assert_eq!(l.check("192.0.2.2".parse().unwrap(), t0), Admit::Yes);
        // A long wait refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(l.check(ip, later), Admit::Yes);
        }
        assert!(matches!(l.check(ip, later), Admit::No { .. }));
    }

    #[test]
    fn slow_rates_give_longer_retry_after() {
        let l = Limiter::new(spec(0.1, 1), 100, 64, Counter::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(l.check(ip, t0), Admit::Yes);
        assert_eq!(
            l.check(ip, t0),
            Admit::No {
                retry_after: 10,
                first: true
            }
        );
    }

    #[test]
    fn ipv6_counts_per_prefix_and_mapped_v4_is_v4() {
        let l = Limiter::new(spec(1.0, 1), 100, 64, Counter::default());
        let t0 = Instant::now();
        assert_eq!(l.check("2001:db8:1:2::1".parse().unwrap(), t0), Admit::Yes);
        assert!(matches!(
            l.check("2001:db8:1:2:ffff::9".parse().unwrap(), t0),
            Admit::No { .. }
        ));
        assert_eq!(l.check("2001:db8:1:3::1".parse().unwrap(), t0), Admit::Yes);
        assert_eq!(l.check("192.0.2.9".parse().unwrap(), t0), Admit::Yes);
        assert!(matches!(
            l.check("::ffff:192.0.2.9".parse().unwrap(), t0),
            Admit::No { .. }
        ));
        let full = Limiter::new(spec(1.0, 1), 100, 128, Counter::default());
        assert_eq!(full.check("2001:db8::1".parse().unwrap(), t0), Admit::Yes);
        assert_eq!(full.check("2001:db8::2".parse().unwrap(), t0), Admit::Yes);
    }

    #[test]
    fn memory_is_bounded() {
        let evictions = Counter::default();
        let l = Limiter::new(spec(1.0, 1), 64, 64, evictions.clone());
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            l.check(IpAddr::V4(i.into()), t0);
        }
        // 16 shards of 4.
        assert!(l.len() <= 64, "{}", l.len());
        assert_eq!(evictions.get(), 10_000 - l.len() as u64);
    }

    #[test]
    fn route_limiters_take_precedence() {
        let cfg = RateLimitConfig {
            enabled: true,
            ..RateLimitConfig::default()
        };
        let rl = RateLimits::new(&cfg, vec![None, Some(spec(1.0, 1))], &Counter::default());
        assert!(rl.any());
        assert_eq!(rl.limiter(Some(1)).unwrap().spec, spec(1.0, 1));
        assert_eq!(rl.limiter(Some(0)).unwrap().spec.burst, 100);
        assert_eq!(rl.limiter(None).unwrap().spec.burst, 100);
        let off = RateLimits::new(&RateLimitConfig::default(), vec![None], &Counter::default());
        assert!(!off.any());
        assert!(off.limiter(Some(0)).is_none());
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = RateLimitConfig {
            requests_per_second: 0.0,
            ..RateLimitConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rate_limit.requests_per_second"), "{e}");
        c.requests_per_second = f64::NAN;
        assert!(c.validate().is_err());
        c.requests_per_second = 1.0;
        c.burst = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rate_limit.burst"), "{e}");
        c.burst = 1;
        c.max_clients = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rate_limit.max_clients"), "{e}");
        c.max_clients = 10;
        c.ipv6_prefix = 129;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rate_limit.ipv6_prefix"), "{e}");
    }
}
